//! A Yuma snapshot (JSON, docs/yuma-snapshot.md) → the epochs `tensorchain yuma simulate` runs,
//! and their outputs as JSON.

use tensorchain_subnet_engine::snapshot::{output_json, simulate};

pub fn run(data: &[u8]) {
    let Ok(snapshot) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    if let Ok((outputs, _)) = simulate(&snapshot) {
        for o in &outputs {
            let _ = output_json(o);
        }
    }
}
