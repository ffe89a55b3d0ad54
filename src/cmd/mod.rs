//! One module per subcommand: load, map, simulate, estimate, report.

pub mod sim;
