//! State at past heights over REST: `?at=` on the state routes (a balance before and after a
//! transfer, a subnet's metagraph of an older epoch, by height and by block hash), `meta` naming
//! the height read, and `?proof=true` proofs that verify against the header of that height.

mod common;
use common::*;
use tensorchain_ledger::state::proof;
use tensorchain_primitives::Hash;

fn free(v: &Value) -> u64 {
    v["data"]["free"].as_str().unwrap().parse().unwrap()
}

fn hex(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().unwrap().trim_start_matches("0x")).unwrap()
}

/// A `?proof=true` proof object checks out against the state root of the header it names.
async fn assert_proof_verifies(t: &TestNode, p: &Value) {
    let (_, block) = t.get(&format!("/v1/blocks/{}", p["height"])).await;
    let root: Hash = block["data"]["header"]["state_root"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(p["state_root"], root.to_hex());
    let value = (!p["value"].is_null()).then(|| hex(&p["value"]));
    proof::verify(root, &hex(&p["key"]), value.as_deref(), &hex(&p["proof"])).unwrap();
}

#[tokio::test]
async fn a_balance_reads_at_heights_before_and_after_a_transfer_with_proofs() {
    let t = setup();
    let alice = dev_coldkey("alice");
    let bob = dev_coldkey("bob").account();
    t.produce();
    let before = t.node.ledger().head();
    t.node.submit_tx(t.transfer(&alice, bob, 7_000, 0)).unwrap();
    t.produce();
    t.produce();
    let after = t.node.ledger().head().height;

    let (status, at_before) = t
        .get(&format!("/v1/accounts/{bob}?at={}", before.height))
        .await;
    assert_eq!(status, StatusCode::OK, "{at_before}");
    let (_, by_hash) = t
        .get(&format!("/v1/accounts/{bob}?at={}", before.hash))
        .await;
    let (_, now) = t.get(&format!("/v1/accounts/{bob}?at=finalized")).await;
    assert_eq!(free(&now), free(&at_before) + 7_000);
    assert_eq!(by_hash["data"], at_before["data"]);
    // `meta` is the height read, not the head.
    assert_eq!(at_before["meta"]["height"], before.height);
    assert_eq!(at_before["meta"]["hash"], before.hash.to_hex());
    assert_eq!(now["meta"]["height"], after);
    // Alice's nonce as of then.
    let (_, alice_then) = t
        .get(&format!(
            "/v1/accounts/{}?at={}",
            alice.account(),
            before.height
        ))
        .await;
    assert_eq!(alice_then["data"]["nonce"], 0);
    let (_, supply_then) = t.get(&format!("/v1/supply?at={}", before.height)).await;
    assert_eq!(supply_then["meta"]["height"], before.height);

    // Proofs at both heights verify against their own headers, not each other's.
    let (_, p_then) = t
        .get(&format!(
            "/v1/accounts/{bob}?at={}&proof=true",
            before.height
        ))
        .await;
    let (_, p_now) = t.get(&format!("/v1/accounts/{bob}?proof=true")).await;
    let (p_then, p_now) = (&p_then["data"]["proof"], &p_now["data"]["proof"]);
    assert_eq!(p_then["height"], before.height);
    assert_proof_verifies(&t, p_then).await;
    assert_proof_verifies(&t, p_now).await;
    assert_ne!(p_then["value"], p_now["value"]);
    let root_now: Hash = p_now["state_root"].as_str().unwrap().parse().unwrap();
    assert!(proof::verify(
        root_now,
        &hex(&p_then["key"]),
        Some(&hex(&p_then["value"])),
        &hex(&p_then["proof"])
    )
    .is_err());
    // Without ?proof=true there is no proof field.
    assert!(now["data"].get("proof").is_none());

    // A never-funded account is proved absent.
    let nobody = Keypair::dev("rest-history/nobody").account();
    let (_, absent) = t.get(&format!("/v1/accounts/{nobody}?proof=true")).await;
    assert!(absent["data"]["proof"]["value"].is_null());
    assert_proof_verifies(&t, &absent["data"]["proof"]).await;

    // Stakes carry one proof each.
    let (_, stakes) = t
        .get(&format!(
            "/v1/accounts/{}/stakes?proof=true",
            alice.account()
        ))
        .await;
    let items = stakes["data"]["stakes"].as_array().unwrap();
    assert!(!items.is_empty(), "{stakes}");
    for s in items {
        assert_proof_verifies(&t, &s["proof"]).await;
    }
}

#[tokio::test]
async fn the_metagraph_of_an_older_epoch_reads_at_its_height() {
    let t = setup();
    let alice = dev_coldkey("alice");
    let owner_hot = Keypair::dev("rest-history/subnet");
    t.create_subnet(&alice, 0, owner_hot.account());
    // Run past an epoch of subnet 1, then register a miner and run past the next one.
    let tempo = t.node.ledger().subnet(1).unwrap().unwrap().hyper.tempo as u64;
    for _ in 0..=tempo {
        t.produce();
    }
    let (_, epochs) = t.get("/v1/subnets/1/epochs").await;
    let epoch_block = epochs["data"]["items"][0]["block"].as_u64().unwrap();
    let (_, then) = t.get("/v1/subnets/1/metagraph").await;
    let then_height = then["meta"]["height"].as_u64().unwrap();
    let miner = Keypair::dev("rest-history/miner");
    let burned = Call::BurnedRegister {
        netuid: 1,
        hotkey: miner.account(),
        max_cost: u64::MAX,
    };
    t.node.submit_tx(t.sign(&alice, 1, burned)).unwrap();
    for _ in 0..=tempo {
        t.produce();
    }
    let (_, now) = t.get("/v1/subnets/1/metagraph").await;
    assert_ne!(
        now["data"], then["data"],
        "the new miner is in the metagraph"
    );

    let (status, old) = t
        .get(&format!("/v1/subnets/1/metagraph?at={then_height}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{old}");
    assert_eq!(old["data"], then["data"]);
    assert_eq!(old["meta"], then["meta"]);
    // At the epoch's own block, the epoch list ends with that epoch.
    let (_, at_epoch) = t
        .get(&format!("/v1/subnets/1/epochs?at={epoch_block}"))
        .await;
    assert_eq!(at_epoch["data"]["items"][0]["block"], epoch_block);
    assert_eq!(at_epoch["meta"]["height"], epoch_block);
    // A neuron's proof at that height.
    let (_, neuron) = t
        .get(&format!(
            "/v1/subnets/1/neurons/0?at={then_height}&proof=true"
        ))
        .await;
    assert_eq!(neuron["meta"]["height"], then_height);
    assert_proof_verifies(&t, &neuron["data"]["proof"]).await;
}

#[tokio::test]
async fn heights_outside_the_window_are_gone_with_the_oldest_available() {
    let t = setup_keeping(Some(3), |_| {});
    for _ in 0..6 {
        t.produce();
    }
    let head = t.node.ledger().head().height;
    let oldest = head - 2;
    let (status, v) = t.get(&format!("/v1/supply?at={}", oldest - 1)).await;
    assert_eq!(status, StatusCode::GONE, "{v}");
    assert_eq!(code(&v), "state_pruned");
    assert_eq!(v["error"]["details"]["oldest_available"], oldest);
    let (status, v) = t.get(&format!("/v1/supply?at={oldest}")).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["meta"]["height"], oldest);
}
