//! The bodies of the fuzz targets (`fuzz_targets/*.rs` are one line each) and the small states
//! they run against. Each `run` takes libFuzzer's bytes, drives the real decoder and what the
//! node does with its result, and panics only on a broken invariant: any other panic is a bug in
//! the code under test. docs/fuzzing.md lists the targets and how to run them.

pub mod fixture;

pub mod block;
pub mod chain_spec;
pub mod consensus_wire;
pub mod signed_tx;
pub mod ss58_amount;
pub mod sync_codec;
pub mod wal_replay;
pub mod yuma_snapshot;

#[cfg(test)]
mod seeds;
