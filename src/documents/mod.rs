//! Printable documents: the permit certificate and the residence proof (PDF) and their QR codes.

mod canvas;
pub mod certificate;
mod file;
mod layout;
pub mod proof;
pub mod qr;
mod subset;
