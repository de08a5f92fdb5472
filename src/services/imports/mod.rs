//! Importing the villages' existing Excel registers (API.md "Importing existing registers", DESIGN §10).
mod batch;
mod check;
pub mod checked;
pub mod commit;
mod commit_rows;
pub mod dry_run;
pub mod houses;
pub mod index;
pub mod residents;
pub mod rooms;
pub mod sheet;
mod sink;
pub mod template;
