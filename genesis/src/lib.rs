//! The chain spec (JSON), its presets and the deterministic dev keys.

mod spec;

pub use spec::{
    dev_coldkey, dev_hotkey, is_devnet_chain_id, BootstrapHandover, ChainSpec, GenesisAllocation,
    GenesisValidator, InvalidSpec, SpecError, DEV_ACCOUNTS,
};
