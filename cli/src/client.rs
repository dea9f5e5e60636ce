//! The node's REST client is the subnet SDK's (one client for the CLI and for subnets); its
//! errors become `CliError`s with the node's code, message and hint.

pub use tensorchain_subnet_sdk::rest::{resolve_network, Client};
