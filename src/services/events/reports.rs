//! Other matters an inspector reports from a visit (掌上基层).
