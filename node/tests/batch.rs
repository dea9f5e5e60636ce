//! Batch admission (`POST /v1/txs/batch`, `Node::admit_batch`) and the cost of admission: one
//! result per transaction in order, malformed bodies and oversize bodies refused whole, and
//! admission work that does not grow with the signer's queue (counted, not timed).

mod common;
use common::*;
use tensorchain_primitives::RAO_PER_TAO;
use tensorchain_rpc::{SubmitError, TxStatus};

fn batch_json(txs: &[SignedTx]) -> String {
    let hex: Vec<String> = txs
        .iter()
        .map(|t| format!("0x{}", hex::encode(t.to_bytes())))
        .collect();
    json!({ "txs": hex }).to_string()
}

async fn post_batch(t: &TestNode, content_type: &str, body: Vec<u8>) -> (StatusCode, Value) {
    let req = Request::post("/v1/txs/batch")
        .header("content-type", content_type)
        .body(Body::from(body))
        .unwrap();
    let (status, _, v) = respond(&t.router, req).await;
    (status, v)
}

/// What a batch answer says of each transaction: `pending` or its error code, with its hash.
fn outcomes(v: &Value) -> Vec<(String, String)> {
    v["data"]["results"]
        .as_array()
        .unwrap_or_else(|| panic!("no results: {v}"))
        .iter()
        .map(|r| {
            let what = r["status"]
                .as_str()
                .or(r["error"]["code"].as_str())
                .unwrap()
                .to_string();
            (r["hash"].as_str().unwrap().to_string(), what)
        })
        .collect()
}

#[tokio::test]
async fn a_mixed_batch_gets_one_result_per_tx_in_order() {
    let t = setup();
    let (alice, bob) = (dev_coldkey("alice"), dev_coldkey("bob"));
    let to = dev_coldkey("ferdie").account();
    let a0 = t.transfer(&alice, to, RAO_PER_TAO, 0);
    let mut forged = t.transfer(&bob, to, RAO_PER_TAO, 0);
    forged.signature.0[0] ^= 1;
    // a1 builds on a0, admitted just before it in the same batch.
    let a1 = t.transfer(&alice, to, RAO_PER_TAO, 1);
    let future = t.transfer(&bob, to, RAO_PER_TAO, 5);
    let broke = t.transfer(&dev_coldkey("nobody"), to, RAO_PER_TAO, 0);
    let batch = [
        a0.clone(),
        forged.clone(),
        a1.clone(),
        a0.clone(),
        future.clone(),
        broke.clone(),
    ];
    let (status, v) = post_batch(&t, "application/json", batch_json(&batch).into_bytes()).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let want = [
        (&a0, "pending"),
        (&forged, "bad_signature"),
        (&a1, "pending"),
        (&a0, "tx_already_known"),
        (&future, "bad_nonce"),
        (&broke, "account_not_found"),
    ];
    let want: Vec<(String, String)> = want
        .iter()
        .map(|(tx, what)| (tx.hash().to_hex(), what.to_string()))
        .collect();
    assert_eq!(outcomes(&v), want);
    let refused = &v["data"]["results"][1]["error"];
    assert!(refused["message"].as_str().is_some_and(|m| !m.is_empty()));
    assert!(refused["hint"].as_str().is_some_and(|m| !m.is_empty()));
    assert_eq!(t.node.mempool_len(), 2);
    // A refused transaction leaves nothing behind; a queued one is pending.
    t.assert_unknown(&forged).await;
    let (_, s) = t.get(&format!("/v1/txs/{}", a1.hash())).await;
    assert_eq!(s["data"]["status"], "pending");

    // The same as borsh `Vec<SignedTx>`.
    let b0 = t.transfer(&bob, to, RAO_PER_TAO, 0);
    let body = borsh::to_vec(&vec![b0.clone(), a0.clone()]).unwrap();
    let (status, v) = post_batch(&t, "application/octet-stream", body).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(
        outcomes(&v),
        vec![
            (b0.hash().to_hex(), "pending".into()),
            (a0.hash().to_hex(), "tx_already_known".into())
        ]
    );
    // Each block takes them in nonce order.
    t.produce();
    assert_eq!(t.node.mempool_len(), 0);
    assert_eq!(t.account(alice.account()).await["nonce"], 2);
}

#[tokio::test]
async fn malformed_and_oversize_batches_are_refused_whole() {
    let t = setup();
    let to = dev_coldkey("ferdie").account();
    let good = t.transfer(&dev_coldkey("alice"), to, 1, 0);
    let good_hex = format!("0x{}", hex::encode(good.to_bytes()));
    let too_many: Vec<SignedTx> = (0..1_025)
        .map(|n| t.transfer(&dev_coldkey("alice"), to, 1, n))
        .collect();
    let json_cases: Vec<(String, StatusCode, &str)> = vec![
        ("{not json".into(), StatusCode::BAD_REQUEST, "invalid_json"),
        (
            json!({"tx": good_hex}).to_string(),
            StatusCode::BAD_REQUEST,
            "invalid_json",
        ),
        (
            json!({"txs": [good_hex, "0x0102"]}).to_string(),
            StatusCode::BAD_REQUEST,
            "malformed_tx",
        ),
        (
            json!({"txs": [good_hex, "zz"]}).to_string(),
            StatusCode::BAD_REQUEST,
            "malformed_tx",
        ),
        (
            batch_json(&too_many),
            StatusCode::BAD_REQUEST,
            "too_many_txs",
        ),
        (
            json!({"txs": [format!("0x{}", "00".repeat(600_000))]}).to_string(),
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
        ),
    ];
    for (body, status, want) in json_cases {
        let (got, v) = post_batch(&t, "application/json", body.into_bytes()).await;
        assert_eq!((got, code(&v)), (status, want), "{v}");
    }
    let borsh_cases: Vec<(Vec<u8>, &str)> = vec![
        (vec![1, 2], "malformed_tx"),
        (vec![0xff, 0xff, 0xff, 0xff, 0], "too_many_txs"),
        (
            [1u32.to_le_bytes().to_vec(), vec![7; 40]].concat(),
            "malformed_tx",
        ),
    ];
    for (body, want) in borsh_cases {
        let (got, v) = post_batch(&t, "application/octet-stream", body).await;
        assert_eq!((got, code(&v)), (StatusCode::BAD_REQUEST, want), "{v}");
    }
    assert_eq!(
        t.node.mempool_len(),
        0,
        "nothing of a refused batch is queued"
    );
    // The batch route alone takes bodies over the 64 KiB of every other route.
    let many: Vec<SignedTx> = (0..250)
        .map(|n| t.transfer(&dev_coldkey("alice"), to, 1, n))
        .collect();
    let body = batch_json(&many);
    assert!(body.len() > tensorchain_rpc::MAX_BODY_BYTES);
    let (status, v) = post_batch(&t, "application/json", body.into_bytes()).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(t.node.mempool_len(), 250);
}

/// A node whose verification queue is full: every submission is `Overloaded`.
struct Busy(Arc<Node>);

impl NodeApi for Busy {
    fn ledger(&self) -> &Ledger {
        self.0.ledger()
    }
    fn submit_tx(&self, _: SignedTx) -> Result<tensorchain_primitives::Hash, SubmitError> {
        Err(SubmitError::Overloaded)
    }
    fn local_tx_status(&self, hash: &tensorchain_primitives::Hash) -> Option<TxStatus> {
        self.0.local_tx_status(hash)
    }
    fn next_nonce(&self, account: &AccountId) -> u64 {
        self.0.next_nonce(account)
    }
    fn mempool_len(&self) -> usize {
        self.0.mempool_len()
    }
    fn subscribe(&self) -> tokio::sync::broadcast::Receiver<tensorchain_rpc::BlockEvent> {
        self.0.subscribe()
    }
}

#[tokio::test]
async fn an_overloaded_node_refuses_the_whole_batch_with_retry_after() {
    let t = setup();
    let router = tensorchain_rpc::router(Arc::new(Busy(t.node.clone())), Arc::new(Metrics::new()));
    let tx = t.transfer(&dev_coldkey("alice"), dev_coldkey("bob").account(), 1, 0);
    for (uri, body) in [
        ("/v1/txs/batch", batch_json(&[tx.clone(), tx.clone()])),
        ("/v1/txs", tx_body(&tx)),
    ] {
        let req = Request::post(uri)
            .header("content-type", "application/json")
            .body(Body::from(body))
            .unwrap();
        let (status, headers, v) = respond(&router, req).await;
        assert_eq!(
            (status, code(&v)),
            (StatusCode::SERVICE_UNAVAILABLE, "overloaded"),
            "{v}"
        );
        assert_eq!(headers["retry-after"], "1");
    }
}

/// The signer's queue grows to 250; every admission, the first and the last, costs one signature
/// check and one execution against state (before, the k-th replayed the k-1 queued ones, each
/// with its signature check).
#[tokio::test]
async fn admission_cost_does_not_grow_with_the_signers_queue() {
    let t = setup();
    let alice = dev_coldkey("alice");
    let to = dev_coldkey("ferdie").account();
    let ledger = t.node.ledger();
    let mut costs = Vec::new();
    for nonce in 0..250 {
        let before = (
            ledger.verified().verifications(),
            t.node.admission_executions(),
        );
        t.node.admit(t.transfer(&alice, to, 1, nonce)).unwrap();
        let after = (
            ledger.verified().verifications(),
            t.node.admission_executions(),
        );
        costs.push((after.0 - before.0, after.1 - before.1));
    }
    assert!(costs.iter().all(|c| *c == (1, 1)), "{costs:?}");
    // A batch: one check and one execution per transaction too.
    let before = (
        ledger.verified().verifications(),
        t.node.admission_executions(),
    );
    let bob = dev_coldkey("bob");
    let batch: Vec<SignedTx> = (0..100).map(|n| t.transfer(&bob, to, 1, n)).collect();
    assert!(t.node.admit_batch(batch).iter().all(|r| r.is_ok()));
    let after = (
        ledger.verified().verifications(),
        t.node.admission_executions(),
    );
    assert_eq!((after.0 - before.0, after.1 - before.1), (100, 100));
    // Building the block verifies nothing again.
    let before = ledger.verified().verifications();
    t.produce();
    assert_eq!(ledger.verified().verifications(), before);
}

/// Admissions per second, printed (debug build; relative numbers): one signer's queue filled to
/// 250 one request at a time, 250 signers one transfer each, and the same 250 signers as batches
/// of 125 in the next round. `cargo test -p tensorchain-node --test batch -- --ignored --nocapture`
#[test]
#[ignore]
fn measure_admissions_per_second() {
    let senders: Vec<Keypair> = (0..250)
        .map(|i| Keypair::dev(&format!("measure/{i}")))
        .collect();
    let t = setup_funding(&senders, 10 * RAO_PER_TAO);
    let to = dev_coldkey("ferdie").account();
    let alice = dev_coldkey("alice");
    let one_signer: Vec<SignedTx> = (0..250).map(|n| t.transfer(&alice, to, 1, n)).collect();
    let many: Vec<SignedTx> = senders.iter().map(|k| t.transfer(k, to, 1, 0)).collect();
    let rate = |n: usize, f: &dyn Fn()| {
        let started = std::time::Instant::now();
        f();
        n as f64 / started.elapsed().as_secs_f64()
    };
    let queue = rate(250, &|| {
        for tx in &one_signer {
            t.node.admit(tx.clone()).unwrap();
        }
    });
    let spread = rate(250, &|| {
        for tx in &many {
            t.node.admit(tx.clone()).unwrap();
        }
    });
    t.produce();
    t.produce();
    let batched: Vec<SignedTx> = senders.iter().map(|k| t.transfer(k, to, 1, 1)).collect();
    let batches = rate(250, &|| {
        for chunk in batched.chunks(125) {
            assert!(t.node.admit_batch(chunk.to_vec()).iter().all(|r| r.is_ok()));
        }
    });
    // The denominator: the signature checks alone, one at a time, on this machine now.
    let fresh: Vec<SignedTx> = senders.iter().map(|k| t.transfer(k, to, 2, 2)).collect();
    let domain = t.node.ledger().signing_domain().clone();
    let verify = rate(250, &|| {
        for tx in &fresh {
            tx.verify_signature(&domain).unwrap();
        }
    });
    println!(
        "admissions/s: one signer's queue to 250: {queue:.0}; 250 signers one each: {spread:.0}; \
         250 signers in batches of 125: {batches:.0}; verify_strict alone, one core: {verify:.0}"
    );
}

/// A signer's paid queue (an AddStake, then 254 transfers) and a batch of 1,024 AddStakes at a
/// nonce long taken: every one is refused on its nonce before anything runs (before, each
/// replayed the 255 queued transactions under the pool's lock: ~262k executions). A non-transfer
/// behind a queued one replays the queue once; the next executes once, on the kept overlay.
#[test]
fn junk_behind_a_paid_queue_is_refused_before_any_replay() {
    let t = setup();
    let (alice, bob) = (dev_coldkey("alice"), dev_coldkey("bob"));
    let hotkey = dev_hotkey("alice").account();
    let to = dev_coldkey("ferdie").account();
    let stake = |key: &Keypair, nonce: u64, amount: u64| {
        t.sign(key, nonce, Call::AddStake { hotkey, amount })
    };
    t.node.admit(stake(&alice, 0, RAO_PER_TAO)).unwrap();
    for n in 1..255 {
        t.node.admit(t.transfer(&alice, to, 1, n)).unwrap();
    }
    let before = t.node.admission_executions();
    let junk: Vec<SignedTx> = (0..1_024).map(|i| stake(&alice, 0, 1 + i)).collect();
    let results = t.node.admit_batch(junk);
    let grew = t.node.admission_executions() - before;
    assert!(grew <= 2_048, "admission ran {grew} transactions for junk");
    assert!(
        results.iter().all(|r| matches!(
            r,
            Err(SubmitError::Rejected(
                tensorchain_ledger::TxError::BadNonce { .. }
            ))
        )),
        "{:?}",
        &results[..2]
    );

    // Bob: an AddStake and 10 transfers queued; the next AddStake replays the 11 once, the one
    // after it executes once.
    t.node.admit(stake(&bob, 0, RAO_PER_TAO)).unwrap();
    for n in 1..11 {
        t.node.admit(t.transfer(&bob, to, 1, n)).unwrap();
    }
    let mut costs = Vec::new();
    for n in 11..14 {
        let before = t.node.admission_executions();
        t.node.admit(stake(&bob, n, RAO_PER_TAO)).unwrap();
        costs.push(t.node.admission_executions() - before);
    }
    assert_eq!(costs, vec![12, 1, 1]);
}

/// A batch costs one unit per transaction (at least the 10 of a heavy route), not 10 for 1,024
/// signatures: with a budget of 100 a second, the first full batch spends it all and the second
/// in the same second is refused 429 before anything of it is verified.
#[tokio::test]
async fn a_batch_is_charged_per_transaction() {
    let t = setup();
    let config = tensorchain_rpc::RpcConfig {
        rate_limit_per_client: 100,
        rate_limit_global: 0,
        limit_loopback: true,
        ..tensorchain_rpc::RpcConfig::default()
    };
    let router =
        tensorchain_rpc::router_with(t.node.clone(), Arc::new(Metrics::new()), &config).unwrap();
    let to = dev_coldkey("ferdie").account();
    let txs: Vec<SignedTx> = (0..1_024)
        .map(|n| t.transfer(&dev_coldkey("alice"), to, 1, n))
        .collect();
    let body = batch_json(&txs);
    let post = || {
        Request::post("/v1/txs/batch")
            .header("content-type", "application/json")
            .body(Body::from(body.clone()))
            .unwrap()
    };
    let (first, _, v) = respond(&router, post()).await;
    assert_eq!(first, StatusCode::OK, "{v}");
    let verified = t.node.ledger().verified().verifications();
    let (second, headers, v) = respond(&router, post()).await;
    assert_eq!(
        (second, code(&v)),
        (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
        "{v}"
    );
    assert!(headers.contains_key("retry-after"));
    assert_eq!(t.node.ledger().verified().verifications(), verified);
}

/// A megabyte of empty strings (about 350,000 elements) is refused as too many, counted
/// without keeping more than a full batch (`BoundedTxs`).
#[tokio::test]
async fn a_megabyte_of_empty_elements_is_too_many_txs() {
    let t = setup();
    let n = (tensorchain_rpc::routes::txs::MAX_BATCH_BODY_BYTES - 16) / 3;
    let body = format!("{{\"txs\":[{}]}}", vec!["\"\""; n].join(","));
    assert!(body.len() <= tensorchain_rpc::routes::txs::MAX_BATCH_BODY_BYTES);
    let (status, v) = post_batch(&t, "application/json", body.into_bytes()).await;
    assert_eq!(
        (status, code(&v)),
        (StatusCode::BAD_REQUEST, "too_many_txs"),
        "{v}"
    );
    assert!(v["error"]["message"]
        .as_str()
        .unwrap()
        .contains(&n.to_string()));
}

/// A signer holds at most 16 calls other than transfers (each may run on its replayed queue);
/// transfers still get in behind them.
#[test]
fn a_signer_holds_at_most_sixteen_non_transfers() {
    let t = setup();
    let alice = dev_coldkey("alice");
    let hotkey = dev_hotkey("alice").account();
    for n in 0..16 {
        let stake = t.sign(
            &alice,
            n,
            Call::AddStake {
                hotkey,
                amount: RAO_PER_TAO,
            },
        );
        t.node.admit(stake).unwrap();
    }
    let more = t.sign(
        &alice,
        16,
        Call::AddStake {
            hotkey,
            amount: RAO_PER_TAO,
        },
    );
    let got = t.node.admit(more);
    assert!(
        matches!(got, Err(SubmitError::TooManyPending(16))),
        "{got:?}"
    );
    let to = dev_coldkey("ferdie").account();
    t.node.admit(t.transfer(&alice, to, 1, 16)).unwrap();
}
