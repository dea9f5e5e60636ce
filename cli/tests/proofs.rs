//! `tensorchain verify-proof` against a real devnet: a `?proof=true` answer verifies through the
//! header and commit of its height, and tampering with any field — the value, the key, the proof's
//! hashes, the state root, the height, the served header, the commit's signature — is rejected.

use serde_json::Value;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Stdio};
use tensorchain_primitives::Keypair;

mod support;
use support::*;

/// Runs verify-proof on `proof` (a response's JSON) against the node at `url`.
fn verify(dir: &Path, url: &str, genesis: &Path, proof: &Value) -> (bool, Value) {
    let file = dir.join("proof.json");
    std::fs::write(&file, proof.to_string()).unwrap();
    let out = Command::new(BIN)
        .args(["verify-proof", "--json", "--network", url, "--proof"])
        .arg(&file)
        .arg("--genesis")
        .arg(genesis)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let v = serde_json::from_str(&text).unwrap_or_else(|e| panic!("printed {text:?}: {e}"));
    (out.status.success(), v)
}

/// Flips the last hex digit of a 0x-hex string field.
fn flip(v: &mut Value, pointer: &str) {
    let s = v.pointer(pointer).unwrap().as_str().unwrap().to_string();
    let last = s.chars().last().unwrap();
    let flipped = if last == '0' { '1' } else { '0' };
    *v.pointer_mut(pointer).unwrap() = Value::String(format!("{}{flipped}", &s[..s.len() - 1]));
}

/// A one-route stand-in for a lying node: answers every request with `body`.
fn serve(body: String) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for mut conn in listener.incoming().flatten() {
            let mut buf = [0u8; 4096];
            let _ = conn.read(&mut buf);
            let _ = write!(
                conn,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    url
}

#[test]
fn verify_proof_accepts_a_served_proof_and_rejects_every_tampered_field() {
    let tmp = tempfile::tempdir().unwrap();
    let d = up(tmp.path(), &["--validators", "1"]);
    wait_for_height(&d, 3);
    let genesis = d.dir.join("genesis.json");
    let alice = Keypair::dev("alice").account();
    let answer = get(&format!("{}/v1/accounts/{alice}?proof=true", d.url));
    let height = answer["data"]["proof"]["height"].as_u64().unwrap();
    assert_eq!(answer["meta"]["height"], height);

    let (ok, v) = verify(tmp.path(), &d.url, &genesis, &answer);
    assert!(ok, "{v}");
    assert_eq!(v["verified"], true);
    assert_eq!(v["height"], height);

    let rejected = |proof: &Value, url: &str, codes: &[&str], what: &str| {
        let (ok, v) = verify(tmp.path(), url, &genesis, proof);
        assert!(!ok, "{what}: a tampered answer verified: {v}");
        let code = v["error"]["code"].as_str().unwrap_or_default();
        assert!(codes.contains(&code), "{what}: {v}");
    };
    let mismatch = &["proof_mismatch", "malformed_proof"];
    for (pointer, codes) in [
        ("/data/proof/value", &mismatch[..]),
        ("/data/proof/key", mismatch),
        ("/data/proof/proof", mismatch),
        ("/data/proof/state_root", &["state_root_mismatch"]),
    ] {
        let mut t = answer.clone();
        flip(&mut t, pointer);
        rejected(&t, &d.url, codes, pointer);
    }
    // A sibling hash in the middle of the proof, not just its last byte.
    let mut t = answer.clone();
    let p = t["data"]["proof"]["proof"].as_str().unwrap().to_string();
    let mid = p.len() / 2;
    let c = if &p[mid..mid + 1] == "a" { "b" } else { "a" };
    t["data"]["proof"]["proof"] = Value::String(format!("{}{c}{}", &p[..mid], &p[mid + 1..]));
    rejected(&t, &d.url, mismatch, "a middle byte of the proof");
    // The proof for another height: after alice's transfer, that header's root differs.
    let bob = Keypair::dev("bob").account().to_ss58();
    let (ok, v) = cli(
        &d,
        &tmp.path().join("home"),
        &[
            "wallet", "transfer", "--uri", "alice", "--dest", &bob, "--amount", "1",
        ],
    );
    assert!(ok, "{v}");
    let later = support::height(&d);
    let mut t = answer.clone();
    t["data"]["proof"]["height"] = Value::from(later);
    rejected(&t, &d.url, &["state_root_mismatch"], "height");

    // A node serving a doctored header or commit for the proof's height.
    let block = get(&format!("{}/v1/blocks/{height}", d.url));
    let mut header = block.clone();
    flip(&mut header, "/data/header/state_root");
    rejected(
        &answer,
        &serve(header.to_string()),
        &["header_mismatch"],
        "header",
    );
    let mut signature = block.clone();
    flip(&mut signature, "/data/commit/signatures/0/signature");
    rejected(
        &answer,
        &serve(signature.to_string()),
        &["commit_invalid"],
        "commit signature",
    );
    let mut unsigned = block.clone();
    unsigned["data"]["commit"]["signatures"] = Value::Array(vec![]);
    rejected(
        &answer,
        &serve(unsigned.to_string()),
        &["commit_invalid"],
        "commit without signatures",
    );
    // The untouched block from the stand-in still verifies: the server is not the difference.
    let (ok, v) = verify(tmp.path(), &serve(block.to_string()), &genesis, &answer);
    assert!(ok, "{v}");
}
