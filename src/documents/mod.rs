//! Printable documents: the permit certificate PDF and its QR code.

mod canvas;
pub mod certificate;
mod layout;
pub mod qr;
