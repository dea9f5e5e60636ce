//! Calls a wallet makes on its stake: a hotkey swap, and moving or transferring stake.

pub mod stake_moves;
pub mod swap;
