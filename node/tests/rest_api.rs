//! The REST API over a real node (in-memory store): the happy path of a transfer, and every bad
//! input answered with its named error and HTTP status while balances, nonces and the pool stay
//! unchanged.

mod common;
use common::*;

#[tokio::test]
async fn transfer_is_submitted_included_and_queryable() {
    let t = setup();
    let alice = dev_coldkey("alice");
    let bob = dev_coldkey("bob").account();
    let (_, before) = t.get(&format!("/v1/accounts/{bob}")).await;
    let stx = t.transfer(&alice, bob, 2_500_000_000, 0);
    let (status, v) = t.post_tx(&stx).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["data"]["hash"], stx.hash().to_hex());
    let (_, pending) = t.get(&format!("/v1/txs/{}", stx.hash())).await;
    assert_eq!(pending["data"]["status"], "pending");
    let (_, acct) = t.get(&format!("/v1/accounts/{}", alice.account())).await;
    assert_eq!(
        acct["data"]["next_nonce"], 1,
        "next_nonce counts the queued tx"
    );

    t.produce();
    let (_, after) = t.get(&format!("/v1/accounts/{bob}")).await;
    let free = |v: &Value| v["data"]["free"].as_str().unwrap().parse::<u64>().unwrap();
    assert_eq!(free(&after), free(&before) + 2_500_000_000);
    assert_eq!(after["data"]["staked"], "0");
    let (_, alice_now) = t.get(&format!("/v1/accounts/{}", alice.account())).await;
    assert_eq!(
        alice_now["data"]["staked"], "100000000000000",
        "alice's genesis stake"
    );
    assert_eq!(alice_now["data"]["nonce"], 1);
    assert_eq!(after["meta"]["height"], 1);
    assert_eq!(after["meta"]["finalized"], true);
    let (_, included) = t.get(&format!("/v1/txs/{}", stx.hash())).await;
    assert_eq!(included["data"]["status"], "included");
    assert_eq!(included["data"]["height"], 1);

    let (status, block) = t.get("/v1/blocks/1").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(block["data"]["txs"][0]["call"]["call"], "transfer");
    assert_eq!(block["data"]["commit"]["height"], 1);
    let hash = block["data"]["header"]["hash"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, by_hash) = t.get(&format!("/v1/blocks/{hash}")).await;
    assert_eq!(by_hash["data"]["header"]["height"], 1);
    let (_, head) = t.get("/v1/blocks/head").await;
    assert_eq!(head["data"]["header"]["height"], 1);
    let (_, list) = t.get("/v1/blocks?limit=1").await;
    assert_eq!(list["data"]["items"].as_array().unwrap().len(), 1);
    assert_eq!(list["data"]["next_cursor"], 0);

    let (_, chain) = t.get("/v1/chain").await;
    assert_eq!(chain["data"]["token"], "TAO");
    assert_eq!(chain["data"]["block_reward"], "1000000000");
    assert_eq!(chain["data"]["max_supply"], "21000000000000000");
    let (_, supply) = t.get("/v1/supply").await;
    assert_eq!(supply["data"]["total_issuance"], "6100000000000000");
    assert_eq!(supply["data"]["halvings"], 0);
    assert_eq!(supply["data"]["next_halving_at"], "10500000000000000");
    // Every term is a running total; they add up to issuance and the node says so.
    let term = |k: &str| supply["data"][k].as_str().unwrap().parse::<u128>().unwrap();
    assert_eq!(
        term("free") + term("staked") + term("unbonding") + term("pending_emission"),
        term("total_issuance")
    );
    assert_eq!(supply["data"]["invariant_ok"], true);
    assert_eq!(supply["data"]["slashed"], "0");
}

#[tokio::test]
async fn an_accounts_transactions_are_listed_newest_first_with_their_events() {
    let t = setup();
    let alice = dev_coldkey("alice");
    let (bob, carol) = (
        dev_coldkey("bob").account(),
        dev_coldkey("charlie").account(),
    );
    let first = t.transfer(&alice, bob, 1_000, 0);
    t.post_tx(&first).await;
    t.produce();
    let second = t.transfer(&alice, carol, 2_000, 1);
    t.post_tx(&second).await;
    t.produce();

    let hashes = |v: &Value| -> Vec<String> {
        v["data"]["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["tx"]["hash"].as_str().unwrap().to_string())
            .collect()
    };
    let (status, sent) = t
        .get(&format!("/v1/accounts/{}/txs", alice.account()))
        .await;
    assert_eq!(status, StatusCode::OK, "{sent}");
    assert_eq!(
        hashes(&sent),
        [second.hash().to_hex(), first.hash().to_hex()]
    );
    assert_eq!(sent["data"]["items"][0]["height"], 2);
    assert_eq!(
        sent["data"]["items"][0]["tx"]["call"]["to"],
        carol.to_ss58()
    );
    // The recipient sees only what touched it; the proposer paid by the fees sees neither.
    let (_, received) = t.get(&format!("/v1/accounts/{bob}/txs")).await;
    assert_eq!(hashes(&received), [first.hash().to_hex()]);
    let proposer = t.validator.account();
    let (_, paid) = t.get(&format!("/v1/accounts/{proposer}/txs")).await;
    assert!(hashes(&paid).is_empty(), "{paid}");
    // A page of one, then the next from its cursor.
    let (_, one) = t
        .get(&format!("/v1/accounts/{}/txs?limit=1", alice.account()))
        .await;
    assert_eq!(hashes(&one), [second.hash().to_hex()]);
    let cursor = one["data"]["next_cursor"].as_str().unwrap().to_string();
    assert_eq!(cursor, "2.0");
    let (_, rest) = t
        .get(&format!(
            "/v1/accounts/{}/txs?cursor={cursor}",
            alice.account()
        ))
        .await;
    assert_eq!(hashes(&rest), [first.hash().to_hex()]);
    assert!(rest["data"]["next_cursor"].is_null());

    // A transaction's page: its events and its block's time.
    let (_, tx) = t.get(&format!("/v1/txs/{}", first.hash())).await;
    assert_eq!(tx["data"]["events"][0]["event"], "transfer");
    assert_eq!(tx["data"]["events"][0]["amount"], "1000");
    assert!(tx["data"]["time_ms"].as_u64().is_some(), "{tx}");
}

#[tokio::test]
async fn simulate_reports_effects_and_errors_without_changing_state() {
    let t = setup();
    let alice = dev_coldkey("alice");
    let bob = dev_coldkey("bob").account();
    let before = (t.account(alice.account()).await, t.account(bob).await);
    let ok = t.transfer(&alice, bob, 1, 0);
    let body = json!({"tx": format!("0x{}", hex::encode(ok.to_bytes()))}).to_string();
    let (status, v) = t
        .request("POST", "/v1/txs/simulate", Body::from(body))
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["data"]["effects"][0]["event"], "transfer");
    let bad = t.transfer(&alice, bob, 0, 0);
    let body = json!({"tx": format!("0x{}", hex::encode(bad.to_bytes()))}).to_string();
    let (status, v) = t
        .request("POST", "/v1/txs/simulate", Body::from(body))
        .await;
    assert_eq!(
        (status, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "zero_amount")
    );
    // A dry run never writes to the state (its root could not move), so check what a client
    // could see change instead: balances and nonces, the pool, the transactions' status.
    let after = (t.account(alice.account()).await, t.account(bob).await);
    assert_eq!(after, before);
    assert_eq!(t.node.mempool_len(), 0);
    t.assert_unknown(&ok).await;
    t.assert_unknown(&bad).await;
    // The simulated transaction is still new to the node: it is accepted and included.
    assert_eq!(t.post_tx(&ok).await.0, StatusCode::OK);
    t.produce();
    let (_, included) = t.get(&format!("/v1/txs/{}", ok.hash())).await;
    assert_eq!(included["data"]["status"], "included");
}

#[tokio::test]
async fn bad_input_gets_named_errors_and_changes_nothing() {
    let t = setup();
    let alice = dev_coldkey("alice");
    let bob = dev_coldkey("bob").account();
    let first = t.transfer(&alice, bob, 1, 0);
    assert_eq!(t.post_tx(&first).await.0, StatusCode::OK);
    t.produce();
    let before = (t.account(alice.account()).await, t.account(bob).await);

    let mut wrong_chain = t.transfer(&alice, bob, 1, 1).tx;
    wrong_chain.chain_id = "elsewhere".into();
    let mut bad_sig = t.transfer(&alice, bob, 1, 1);
    bad_sig.signature.0[10] ^= 0xff;
    let mut weak = t.transfer(&alice, bob, 1, 1);
    weak.tx.signer = AccountId({
        let mut k = [0u8; 32];
        k[0] = 1;
        k
    });
    let tx_cases: Vec<(SignedTx, StatusCode, &str)> = vec![
        (
            wrong_chain.sign(&alice, t.node.ledger().signing_domain()),
            StatusCode::UNPROCESSABLE_ENTITY,
            "wrong_chain_id",
        ),
        (bad_sig, StatusCode::UNPROCESSABLE_ENTITY, "bad_signature"),
        (weak, StatusCode::UNPROCESSABLE_ENTITY, "weak_key"),
        (
            t.transfer(&alice, bob, 2, 0),
            StatusCode::CONFLICT,
            "bad_nonce",
        ),
        (
            t.transfer(&alice, bob, 1, 5),
            StatusCode::CONFLICT,
            "bad_nonce",
        ),
        (
            t.transfer(&alice, bob, 2_000_000 * 1_000_000_000, 1),
            StatusCode::UNPROCESSABLE_ENTITY,
            "insufficient_balance",
        ),
        (
            t.transfer(&alice, bob, 0, 1),
            StatusCode::UNPROCESSABLE_ENTITY,
            "zero_amount",
        ),
        (
            t.transfer(&alice, bob, u64::MAX, 1),
            StatusCode::UNPROCESSABLE_ENTITY,
            "amount_overflow",
        ),
        (
            t.transfer(&Keypair::dev("never-funded"), bob, 1, 0),
            StatusCode::UNPROCESSABLE_ENTITY,
            "account_not_found",
        ),
        (first.clone(), StatusCode::CONFLICT, "tx_already_known"),
    ];
    for (stx, want_status, want_code) in tx_cases {
        let (status, v) = t.post_tx(&stx).await;
        assert_eq!((status, code(&v)), (want_status, want_code), "{v}");
        assert!(v["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()));
        assert!(v["error"]["hint"].as_str().is_some_and(|m| !m.is_empty()));
        if want_code != "tx_already_known" {
            t.assert_unknown(&stx).await;
        }
    }
    let future = t.transfer(&alice, bob, 1, 7);
    let (_, v) = t.post_tx(&future).await;
    assert_eq!(v["error"]["details"]["reason"], "future");
    t.assert_unknown(&future).await;

    let raw_cases: Vec<(String, StatusCode, &str)> = vec![
        (
            json!({"tx": "0x0102"}).to_string(),
            StatusCode::BAD_REQUEST,
            "malformed_tx",
        ),
        (
            json!({"tx": "not hex"}).to_string(),
            StatusCode::BAD_REQUEST,
            "malformed_tx",
        ),
        (
            json!({"tx": format!("0x{}00", hex::encode(first.to_bytes()))}).to_string(),
            StatusCode::BAD_REQUEST,
            "malformed_tx",
        ),
        (
            "{not json".to_string(),
            StatusCode::BAD_REQUEST,
            "invalid_json",
        ),
        (
            json!({"transaction": "0x00"}).to_string(),
            StatusCode::BAD_REQUEST,
            "invalid_json",
        ),
        (
            json!({"tx": "0".repeat(100_000)}).to_string(),
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
        ),
    ];
    for (body, want_status, want_code) in raw_cases {
        let (status, v) = t.request("POST", "/v1/txs", Body::from(body)).await;
        assert_eq!((status, code(&v)), (want_status, want_code), "{v}");
    }

    for (uri, want_status, want_code) in [
        (
            "/v1/accounts/not-an-address",
            StatusCode::BAD_REQUEST,
            "bad_address",
        ),
        (
            "/v1/accounts/0x1234",
            StatusCode::BAD_REQUEST,
            "bad_address",
        ),
        ("/v1/blocks/99", StatusCode::NOT_FOUND, "block_not_found"),
        ("/v1/blocks/0x00", StatusCode::BAD_REQUEST, "bad_hash"),
        (
            "/v1/blocks/tomorrow",
            StatusCode::BAD_REQUEST,
            "bad_block_id",
        ),
        ("/v1/txs/0xzz", StatusCode::BAD_REQUEST, "bad_hash"),
        (
            &*format!("/v1/txs/{}", tensorchain_primitives::Hash::digest(b"x")),
            StatusCode::NOT_FOUND,
            "tx_not_found",
        ),
        (
            "/v1/events?topics=block,gossip",
            StatusCode::BAD_REQUEST,
            "unknown_topic",
        ),
        ("/v1/nope", StatusCode::NOT_FOUND, "route_not_found"),
    ] {
        let (status, v) = t.get(uri).await;
        assert_eq!((status, code(&v)), (want_status, want_code), "{uri}: {v}");
    }

    // Submission never writes to the state (its root could not move): check what a rejected
    // submission could have changed instead.
    let after = (t.account(alice.account()).await, t.account(bob).await);
    assert_eq!(after, before, "no bad input moved a balance or a nonce");
    assert_eq!(t.node.mempool_len(), 0, "no bad input reached the mempool");
    t.produce();
    let (_, block) = t.get("/v1/blocks/2").await;
    assert_eq!(block["data"]["txs"].as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn a_client_sending_garbage_is_rate_limited() {
    let t = setup();
    // In-process requests count as loopback: rate-limit those too, as a node behind a proxy would.
    let config = tensorchain_rpc::RpcConfig {
        limit_loopback: true,
        ..Default::default()
    };
    let router =
        tensorchain_rpc::router_with(t.node.clone(), Arc::new(Metrics::new()), &config).unwrap();
    let t = TestNode { router, ..t };
    let mut last = (StatusCode::OK, serde_json::Value::Null);
    for _ in 0..400 {
        last = t.get("/v1/accounts/garbage").await;
        if last.0 == StatusCode::TOO_MANY_REQUESTS {
            break;
        }
    }
    assert_eq!(last.0, StatusCode::TOO_MANY_REQUESTS);
    // The refusal itself names the limit (a later request may find a token refilled already).
    assert_eq!(code(&last.1), "rate_limited");
}

#[tokio::test]
async fn openapi_metrics_and_docs_are_served() {
    let t = setup();
    let (status, spec) = t.get("/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    for path in [
        "/v1/chain",
        "/v1/supply",
        "/v1/blocks/{id}",
        "/v1/txs",
        "/v1/txs/simulate",
        "/v1/accounts/{addr}",
        "/v1/accounts/{addr}/stakes",
        "/v1/accounts/{addr}/txs",
        "/v1/hotkeys/{hk}",
        "/v1/events",
    ] {
        assert!(
            spec["paths"].get(path).is_some(),
            "{path} missing from the OpenAPI document"
        );
    }
    t.produce();
    let (_, _) = t.get("/v1/chain").await;
    let (status, text) = t.get("/metrics").await;
    assert_eq!(status, StatusCode::OK);
    let text = text.as_str().unwrap();
    assert!(text.contains("tensorchain_block_height_best 1"), "{text}");
    assert!(text.contains("tensorchain_http_requests_total"), "{text}");
    let (status, _) = t.get("/docs").await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn events_stream_new_blocks_and_replays_after_last_event_id() {
    let t = setup();
    t.produce();
    t.produce();
    let req = Request::builder()
        .uri("/v1/events?topics=block")
        .header("last-event-id", "0")
        .body(Body::empty())
        .unwrap();
    let resp = t.router.clone().oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let mut body = resp.into_body();
    t.produce();
    let mut seen = String::new();
    while !seen.contains("id: 3") {
        let frame = tokio::time::timeout(Duration::from_secs(5), body.frame())
            .await
            .expect("an event within 5 s")
            .unwrap()
            .unwrap();
        if let Some(data) = frame.data_ref() {
            seen.push_str(&String::from_utf8_lossy(data));
        }
    }
    let ids: Vec<&str> = seen.lines().filter(|l| l.starts_with("id: ")).collect();
    assert_eq!(
        ids,
        vec!["id: 1", "id: 2", "id: 3"],
        "replayed 1 and 2, then live 3: {seen}"
    );
}

/// Finding 11 of the Byzantine-peers review: signatures covered the chain id only, so a
/// transaction signed for another network with this chain id (the devnet relaunched with another
/// allocation) was admitted here, and votes signed there were valid equivocation evidence here.
/// Both are now refused at admission (submit and simulate), by name, and nothing is queued.
#[tokio::test]
async fn finding_11_txs_and_evidence_signed_for_another_network_are_refused_at_admission() {
    use tensorchain_primitives::{DoubleSign, Hash, SigningDomain, Vote, VoteKind};
    let t = setup();
    let mut relaunch = t.spec.clone();
    relaunch.allocations[5].balance -= 1;
    let there = relaunch.signing_domain();
    let here = t.node.ledger().signing_domain().clone();
    assert_eq!(there.chain_id, here.chain_id);
    assert_ne!(there.genesis, here.genesis);

    let alice = dev_coldkey("alice");
    let sign_for = |domain: &SigningDomain, call: Call| {
        Tx {
            chain_id: domain.chain_id.clone(),
            signer: alice.account(),
            nonce: 0,
            fee: t.spec.fees.for_call(&call),
            call,
        }
        .sign(&alice, domain)
    };
    let transfer = Call::Transfer {
        to: dev_coldkey("bob").account(),
        amount: 1,
    };
    let foreign = sign_for(&there, transfer);
    for route in ["/v1/txs", "/v1/txs/simulate"] {
        let (status, v) = t
            .request("POST", route, Body::from(tx_body(&foreign)))
            .await;
        assert_eq!(
            (status, code(&v)),
            (StatusCode::UNPROCESSABLE_ENTITY, "bad_signature"),
            "{route}: {v}"
        );
        let hint = v["error"]["hint"].as_str().unwrap();
        assert!(
            hint.contains("genesis_hash") && hint.contains("network"),
            "{hint}"
        );
    }
    t.assert_unknown(&foreign).await;

    // The genesis validator double-signed on the relaunch: no evidence here.
    let validator = dev_hotkey("alice");
    let vote = |block: &[u8]| Vote {
        chain_id: here.chain_id.clone(),
        height: 1,
        round: 0,
        kind: VoteKind::Precommit,
        block_hash: Some(Hash::digest(block)),
    };
    let double_sign = |domain: &SigningDomain| {
        let (first, second) = (vote(b"x"), vote(b"y"));
        DoubleSign {
            validator: validator.account(),
            first_signature: first.sign(&validator, domain),
            first,
            second_signature: second.sign(&validator, domain),
            second,
        }
    };
    let report = |evidence| Call::ReportEquivocation {
        evidence: Box::new(evidence),
    };
    let from_there = sign_for(&here, report(double_sign(&there)));
    let (status, v) = t.post_tx(&from_there).await;
    assert_eq!(
        (status, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_evidence"),
        "{v}"
    );
    t.assert_unknown(&from_there).await;
    // The same double sign made here is evidence.
    let from_here = sign_for(&here, report(double_sign(&here)));
    assert_eq!(t.post_tx(&from_here).await.0, StatusCode::OK);
}

/// A node whose next block is committed while the status route asks for the node's own status:
/// a commit landing between the route's two reads (the pool's and the ledger's).
struct CommitsWhileAsked(TestNode);

impl NodeApi for CommitsWhileAsked {
    fn ledger(&self) -> &Ledger {
        self.0.node.ledger()
    }
    fn submit_tx(
        &self,
        tx: SignedTx,
    ) -> Result<tensorchain_primitives::Hash, tensorchain_rpc::SubmitError> {
        self.0.node.submit_tx(tx)
    }
    fn local_tx_status(
        &self,
        hash: &tensorchain_primitives::Hash,
    ) -> Option<tensorchain_rpc::TxStatus> {
        self.0.produce();
        self.0.node.local_tx_status(hash)
    }
    fn next_nonce(&self, account: &AccountId) -> u64 {
        self.0.node.next_nonce(account)
    }
    fn mempool_len(&self) -> usize {
        self.0.node.mempool_len()
    }
    fn subscribe(&self) -> tokio::sync::broadcast::Receiver<tensorchain_rpc::BlockEvent> {
        self.0.node.subscribe()
    }
}

/// A transaction included while a client asks for it is `included`, never `tx_not_found` (the
/// route read the ledger first, then found the pool already pruned).
#[tokio::test]
async fn a_transaction_included_while_its_status_is_read_is_found() {
    let t = setup();
    let stx = t.transfer(&dev_coldkey("alice"), dev_coldkey("bob").account(), 1, 0);
    t.node.submit_tx(stx.clone()).unwrap();
    let router = tensorchain_rpc::router(Arc::new(CommitsWhileAsked(t)), Arc::new(Metrics::new()));
    let req = Request::get(format!("/v1/txs/{}", stx.hash()))
        .body(Body::empty())
        .unwrap();
    let (status, _, v) = respond(&router, req).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["data"]["status"], "included", "{v}");
}
