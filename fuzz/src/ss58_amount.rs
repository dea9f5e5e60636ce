//! Text → SS58 (and `0x` hex) account parsing and TAO amount parsing, as the CLI and the REST API
//! read them. Invariants: whatever parses prints back to text that parses to the same value.

use std::str::FromStr;
use tensorchain_primitives::{address, format_tao, parse_tao, AccountId};

pub fn run(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(key) = address::decode(text) {
        assert_eq!(address::decode(&address::encode(&key)).ok(), Some(key));
    }
    if let Ok(id) = AccountId::from_str(text) {
        assert_eq!(AccountId::from_str(&id.to_string()).ok(), Some(id));
    }
    if let Ok(rao) = parse_tao(text) {
        assert_eq!(parse_tao(&format_tao(rao)).ok(), Some(rao), "{text:?}");
    }
}
