//! Keys and cryptography: permit signing keys, personal-data encryption, the master key that seals
//! both in the database's key ring when several instances share one PostgreSQL.

pub mod key_table;
pub mod keyfile;
pub mod master;
pub mod pii;
pub mod shared;
pub mod signing;
