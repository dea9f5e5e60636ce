#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tensorchain_fuzz::wal_replay::run(data));
