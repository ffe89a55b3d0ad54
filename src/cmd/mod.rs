//! One module per subcommand: load, map, simulate, estimate, report.

pub mod compare;
pub mod import;
pub mod masks;
pub mod net;
pub mod prune;
pub mod sim;
pub mod sweep;
pub mod train;
pub mod validate;
