//! Behaviour of the primitives that other crates and the protocol rely on, checked exactly enough
//! that a mutation of the code fails a test (see docs/testing.md, "Mutation testing"). One test
//! binary, so that each mutant links one binary instead of four.

mod evidence;
mod hashes;
mod keys_and_addresses;
mod values;
mod zip215;
