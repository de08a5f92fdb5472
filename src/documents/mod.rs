//! Printable documents: the permit certificate and the residence proof (PDF) and their QR codes.

mod canvas;
pub mod certificate;
pub mod proof;
mod layout;
pub mod qr;
