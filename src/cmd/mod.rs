//! One module per subcommand: load, map, simulate, estimate, report.

pub mod import;
pub mod net;
pub mod sim;
