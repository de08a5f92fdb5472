//! Keys and cryptography: permit signing keys, personal-data encryption.

pub mod keyfile;
pub mod pii;
pub mod signing;
