//! Importing the villages' existing Excel registers (API.md "Importing existing registers", DESIGN §10).
pub mod checked;
pub mod commit;
pub mod dry_run;
pub mod sheet;
pub mod template;
