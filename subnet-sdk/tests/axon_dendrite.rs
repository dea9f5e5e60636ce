//! A real axon on loopback, called by a real dendrite (and by hand-made requests): each check of
//! the axon rejects with its named error, and the dendrite reports timeouts, dead axons and
//! missing axons per uid, without failing the query.

use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tensorchain_primitives::{AccountId, Keypair};
use tensorchain_subnet_sdk::axon::{Axon, AxonConfig, ServingAxon};
use tensorchain_subnet_sdk::{
    auth, now_ms, Dendrite, Metagraph, MetagraphSync, QueryStatus, Synapse, Target,
};

const NETUID: u16 = 7;

#[derive(Clone, Serialize, Deserialize)]
struct Echo {
    text: String,
    sleep_ms: u64,
}

impl Synapse for Echo {
    const NAME: &'static str = "echo";
    type Response = String;
}

struct Net {
    miner: Keypair,
    validator: Keypair,
    poor: Keypair,
    stranger: Keypair,
    flooder: Keypair,
    sync: MetagraphSync,
}

/// uid 0 the miner, 1 a staked validator, 2 a registered hotkey without stake, 3 another staked
/// caller (for the rate limit); the stranger is not registered.
fn net() -> Net {
    let keys: Vec<Keypair> = ["miner", "validator", "poor", "flooder"]
        .iter()
        .map(|n| Keypair::dev(&format!("sdk-test/{n}")))
        .collect();
    let n = keys.len();
    let m = Metagraph {
        netuid: NETUID,
        block: 1,
        hotkeys: keys.iter().map(Keypair::account).collect(),
        coldkeys: vec![AccountId::default(); n],
        stake: vec![0, 1_000, 0, 1_000],
        validator_permit: vec![false, true, false, true],
        axons: vec![None; n],
        last_update: vec![0; n],
        incentive: vec![0.0; n],
        dividends: vec![0.0; n],
        trust: vec![0.0; n],
        consensus: vec![0.0; n],
        emission: vec![0; n],
        active: vec![true; n],
    };
    let (sync, updates) = MetagraphSync::manual(m);
    // The sender lives as long as the test: the metagraph stays as built.
    std::mem::forget(updates);
    Net {
        miner: keys[0].clone(),
        validator: keys[1].clone(),
        poor: keys[2].clone(),
        flooder: keys[3].clone(),
        stranger: Keypair::dev("sdk-test/stranger"),
        sync,
    }
}

async fn serve(net: &Net, rate_per_sec: u32) -> ServingAxon {
    let mut config = AxonConfig::new(NETUID);
    config.min_stake = 100;
    config.rate_per_sec = rate_per_sec;
    config.freshness_ms = 2_000;
    Axon::new(net.miner.clone(), config)
        .attach(|caller, e: Echo| async move {
            tokio::time::sleep(Duration::from_millis(e.sleep_ms)).await;
            Ok(format!("{} from uid {}", e.text, caller.uid))
        })
        .serve(net.sync.clone())
        .await
        .unwrap()
}

fn target(net: &Net, addr: Option<SocketAddr>) -> Target {
    Target {
        uid: 0,
        hotkey: net.miner.account(),
        addr,
    }
}

fn echo(text: &str) -> Echo {
    Echo {
        text: text.into(),
        sleep_ms: 0,
    }
}

/// POSTs a hand-signed request: (HTTP status, error code).
async fn raw(
    addr: SocketAddr,
    synapse: &str,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
) -> (u16, String) {
    let url = format!("http://{addr}/synapse/{synapse}");
    tokio::task::spawn_blocking(move || {
        let mut req = ureq::post(&url).timeout(Duration::from_secs(5));
        for (k, v) in &headers {
            req = req.set(k, v);
        }
        match req.send_bytes(&body) {
            Ok(r) => (r.status(), String::new()),
            Err(ureq::Error::Status(s, r)) => {
                let v: serde_json::Value = r.into_json().unwrap();
                assert!(!v["error"]["message"].as_str().unwrap().is_empty());
                assert!(!v["error"]["hint"].as_str().unwrap().is_empty());
                (s, v["error"]["code"].as_str().unwrap().to_string())
            }
            Err(e) => panic!("{e}"),
        }
    })
    .await
    .unwrap()
}

fn rejected<R>(r: &tensorchain_subnet_sdk::UidResponse<R>) -> String {
    match &r.status {
        QueryStatus::Rejected(e) => e.code.clone(),
        other => format!("not rejected: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_axon_rejects_unsigned_stale_forged_unregistered_poor_replayed_and_flooding_callers() {
    let net = net();
    let axon = serve(&net, 3).await;
    let t = target(&net, Some(axon.addr));
    let timeout = Duration::from_secs(5);

    // A registered, staked validator gets its answer, and the handler knows its uid.
    let ok = Dendrite::new(net.validator.clone(), NETUID)
        .call(t.clone(), echo("hi"), timeout)
        .await;
    assert_eq!(ok.status, QueryStatus::Ok);
    assert_eq!(ok.response.as_deref(), Some("hi from uid 1"));

    let body = serde_json::to_vec(&echo("x")).unwrap();
    assert_eq!(
        raw(axon.addr, "echo", vec![], body.clone()).await,
        (401, "unsigned_request".into())
    );

    let signed = |ts: u64, nonce: u64, receiver: &AccountId| {
        auth::sign(&net.validator, receiver, NETUID, "echo", ts, nonce, &body)
            .headers()
            .to_vec()
    };
    let stale = signed(now_ms() - 10_000, 1, &net.miner.account());
    assert_eq!(
        raw(axon.addr, "echo", stale, body.clone()).await,
        (401, "stale_request".into())
    );
    let future = signed(now_ms() + 10_000, 2, &net.miner.account());
    assert_eq!(
        raw(axon.addr, "echo", future, body.clone()).await,
        (401, "stale_request".into())
    );
    // Signed for another axon: replaying it here fails the signature.
    let elsewhere = signed(now_ms(), 3, &net.stranger.account());
    assert_eq!(
        raw(axon.addr, "echo", elsewhere, body.clone()).await,
        (401, "bad_signature".into())
    );

    let stranger = Dendrite::new(net.stranger.clone(), NETUID)
        .call(t.clone(), echo("x"), timeout)
        .await;
    assert_eq!(rejected(&stranger), "caller_not_registered");
    let poor = Dendrite::new(net.poor.clone(), NETUID)
        .call(t.clone(), echo("x"), timeout)
        .await;
    assert_eq!(rejected(&poor), "insufficient_stake");

    // The same signed request twice: the second is a replay.
    let once = signed(now_ms(), 4, &net.miner.account());
    assert_eq!(
        raw(axon.addr, "echo", once.clone(), body.clone()).await.0,
        200
    );
    assert_eq!(
        raw(axon.addr, "echo", once, body.clone()).await,
        (409, "replayed_request".into())
    );

    // The validator spent its 3 requests of this second: wait for its bucket to refill.
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let unknown_body = b"{}".to_vec();
    let h = auth::sign(
        &net.validator,
        &net.miner.account(),
        NETUID,
        "nope",
        now_ms(),
        5,
        &unknown_body,
    );
    assert_eq!(
        raw(axon.addr, "nope", h.headers().to_vec(), unknown_body).await,
        (404, "unknown_synapse".into())
    );

    // A burst of 3 a second: the 4th and later requests of a burst are refused, others' are not.
    let flooder = Dendrite::new(net.flooder.clone(), NETUID);
    let burst = flooder
        .query(&vec![t.clone(); 6], |_| echo("x"), timeout)
        .await;
    let codes: Vec<&str> = burst.iter().map(|r| r.status.as_str()).collect();
    assert_eq!(codes.iter().filter(|c| **c == "ok").count(), 3, "{codes:?}");
    assert!(burst
        .iter()
        .filter(|r| r.status != QueryStatus::Ok)
        .all(|r| rejected(r) == "rate_limited"));
    let other = Dendrite::new(net.validator.clone(), NETUID)
        .call(t.clone(), echo("x"), timeout)
        .await;
    assert_eq!(other.status, QueryStatus::Ok);
    // The bucket refills: a second later the flooder is answered again.
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    assert_eq!(
        flooder.call(t, echo("x"), timeout).await.status,
        QueryStatus::Ok
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dendrite_reports_timeouts_dead_and_missing_axons_per_uid() {
    let net = net();
    let axon = serve(&net, 100).await;
    // A port that was free a moment ago: nothing listens there.
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    // Accepts connections and never answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_addr = silent.local_addr().unwrap();
    let targets = vec![
        Target {
            uid: 0,
            ..target(&net, Some(axon.addr))
        },
        Target {
            uid: 1,
            ..target(&net, Some(dead))
        },
        Target {
            uid: 2,
            ..target(&net, None)
        },
        Target {
            uid: 3,
            ..target(&net, Some(silent_addr))
        },
        Target {
            uid: 4,
            ..target(&net, Some(axon.addr))
        },
    ];
    let dendrite = Dendrite::new(net.validator.clone(), NETUID);
    let started = Instant::now();
    let timeout = Duration::from_millis(400);
    // uid 4's miner takes longer than the timeout.
    let out = dendrite
        .query(
            &targets,
            |t| Echo {
                text: "q".into(),
                sleep_ms: if t.uid == 4 { 2_000 } else { 0 },
            },
            timeout,
        )
        .await;
    let elapsed = started.elapsed();
    let statuses: Vec<(u16, &str)> = out.iter().map(|r| (r.uid, r.status.as_str())).collect();
    assert_eq!(
        statuses,
        vec![
            (0, "ok"),
            (1, "unreachable"),
            (2, "no_axon"),
            (3, "timeout"),
            (4, "timeout")
        ]
    );
    // All at once: the whole query takes about one timeout, not one per uid.
    assert!(elapsed < Duration::from_millis(1_000), "{elapsed:?}");
    let floor = timeout - Duration::from_millis(20);
    assert!(out[3].latency >= floor && out[4].latency >= floor);
    assert!(out[0].latency < timeout);
    assert_eq!(out[0].response.as_deref(), Some("q from uid 1"));
    drop(silent);
}

/// Review findings on the axon: one caller cannot hold every request slot with slow requests
/// (at most `MAX_IN_FLIGHT_PER_CALLER` in flight, the rest `too_many_in_flight`, while another
/// caller is still answered), and replays of a caller's request do not spend its rate budget.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_caller_cannot_hold_every_slot_and_replays_do_not_spend_its_budget() {
    use tensorchain_subnet_sdk::axon::MAX_IN_FLIGHT_PER_CALLER;
    let net = net();
    let axon = serve(&net, 20).await;
    let t = target(&net, Some(axon.addr));
    let timeout = Duration::from_secs(5);
    let slow = Echo {
        text: "slow".into(),
        sleep_ms: 1_500,
    };
    let flooder = Dendrite::new(net.flooder.clone(), NETUID);
    let flood = {
        let (t, slow) = (t.clone(), slow.clone());
        tokio::spawn(async move { flooder.query(&vec![t; 8], |_| slow.clone(), timeout).await })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    let other = Dendrite::new(net.validator.clone(), NETUID)
        .call(t.clone(), echo("hi"), timeout)
        .await;
    assert_eq!(
        other.status,
        QueryStatus::Ok,
        "the validator is still answered"
    );
    let answers = flood.await.unwrap();
    let ok = answers
        .iter()
        .filter(|r| r.status == QueryStatus::Ok)
        .count();
    assert_eq!(
        ok,
        MAX_IN_FLIGHT_PER_CALLER,
        "{:?}",
        answers
            .iter()
            .map(|r| r.status.as_str())
            .collect::<Vec<_>>()
    );
    assert!(answers
        .iter()
        .filter(|r| r.status != QueryStatus::Ok)
        .all(|r| rejected(r) == "too_many_in_flight"));

    // Replays of one signed request, sent by anyone who saw it, leave its signer's budget whole.
    let axon = serve(&net, 3).await;
    let body = serde_json::to_vec(&echo("x")).unwrap();
    let signed = |nonce: u64| {
        auth::sign(
            &net.validator,
            &net.miner.account(),
            NETUID,
            "echo",
            now_ms(),
            nonce,
            &body,
        )
        .headers()
        .to_vec()
    };
    let once = signed(1);
    assert_eq!(
        raw(axon.addr, "echo", once.clone(), body.clone()).await.0,
        200
    );
    for _ in 0..5 {
        assert_eq!(
            raw(axon.addr, "echo", once.clone(), body.clone()).await,
            (409, "replayed_request".into())
        );
    }
    for nonce in 2..4 {
        assert_eq!(
            raw(axon.addr, "echo", signed(nonce), body.clone()).await.0,
            200
        );
    }
}
