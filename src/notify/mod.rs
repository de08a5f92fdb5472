//! Channels that carry outbox events out of Anju: webhooks and SMS (in-app notices are rows in the
//! database, written by the dispatcher in `services::events`).
pub mod sms;
pub mod webhook;
