//! Importing the villages' existing Excel registers (API.md "Importing existing registers", DESIGN §10).
pub mod template;
