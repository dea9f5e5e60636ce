#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tensorchain_fuzz::chain_spec::run(data));
