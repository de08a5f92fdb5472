//! Pure rules of the scheme: no Rocket, no SeaORM. Everything here is unit-tested.
pub mod account;
pub mod application;
pub mod checklist;
pub mod clock;
pub mod dates;
pub mod event;
pub mod fields;
pub mod grade;
pub mod identity;
pub mod inspection;
pub mod notice;
pub mod occupancy;
pub mod permit;
pub mod permit_number;
pub mod property;
pub mod role;
pub mod stay;
