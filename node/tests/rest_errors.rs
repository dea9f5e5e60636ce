//! Every error the REST API documents, on every route, table-driven from its OpenAPI document:
//! each case is a real request to a real node's API that must get its status and stable
//! `error.code`, every error response the document lists for a route must have a case (or be
//! named below as one no request can reach), and every case must be documented for its route.
//! Codes any route may give (429 `rate_limited`, 400 `bad_path`, 400 `bad_query`) are generated
//! from the document for every route it lists.

mod common;
use common::*;
use std::collections::BTreeSet;
use tensorchain_primitives::{Hash, RAO_PER_TAO};
use tensorchain_rpc::RpcConfig;

/// Which server a case is sent to: the node's API with the default limits; one that rate-limits
/// loopback at one request a second; one whose only event stream slot is taken; or the API of a
/// node whose mempool is full.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Via {
    Main,
    Limited,
    OneStream,
    FullPool,
    /// A node keeping one height of state, past genesis: `?at=0` is pruned there.
    Pruned,
}

#[derive(Debug, Clone)]
struct Case {
    method: &'static str,
    /// The route as the OpenAPI document names it.
    route: &'static str,
    uri: String,
    header: Option<(&'static str, &'static str)>,
    body: String,
    via: Via,
    status: u16,
    code: &'static str,
}

fn get(route: &'static str, uri: impl Into<String>, status: u16, code: &'static str) -> Case {
    Case {
        method: "get",
        route,
        uri: uri.into(),
        header: None,
        body: String::new(),
        via: Via::Main,
        status,
        code,
    }
}

fn post(route: &'static str, body: impl Into<String>, status: u16, code: &'static str) -> Case {
    Case {
        method: "post",
        route,
        uri: route.into(),
        header: None,
        body: body.into(),
        via: Via::Main,
        status,
        code,
    }
}

fn via(mut c: Case, v: Via) -> Case {
    c.via = v;
    c
}

fn axon(t: &TestNode, hk: &Keypair, nonce: u64) -> SignedTx {
    let call = Call::ServeAxon {
        netuid: 1,
        ip: [0; 16],
        port: 8091,
        protocol: 4,
    };
    t.sign(hk, nonce, call)
}

/// An error the document lists for a route that no request can get, and why: the refusal under
/// load that the document states on every route (docs/api-limits.md) is only given by the mempool
/// and the event streams.
fn unreachable(method: &str, route: &str, status: u16) -> Option<&'static str> {
    if (method, route, status) == ("get", "/v1/node/health", 503) {
        return Some("only a dead core task gives it: node/src/supervisor.rs tests that path");
    }
    if (method, route, status) == ("post", "/v1/txs/batch", 503) {
        return Some(
            "overloaded needs 8,192 transactions in verification at once: node/src/node.rs tests \
             the node's refusal, node/tests/batch.rs the route's answer to it",
        );
    }
    let answers_503 = [("post", "/v1/txs"), ("get", "/v1/events")];
    (status == 503 && !answers_503.contains(&(method, route)))
        .then_some("the generic 503 every route documents; only submissions and streams give it")
}

/// The error codes a response description names: its snake_case words.
fn codes_in(description: &str) -> BTreeSet<String> {
    description
        .split(|c: char| !(c.is_ascii_lowercase() || c == '_'))
        .filter(|w| w.contains('_') && !w.starts_with('_') && !w.ends_with('_'))
        .map(str::to_string)
        .collect()
}

/// A path item's operations: (method, operation).
fn operations(item: &Value) -> impl Iterator<Item = (&String, &Value)> {
    item.as_object()
        .unwrap()
        .iter()
        .filter(|(m, _)| ["get", "post", "put", "delete", "patch"].contains(&m.as_str()))
}

/// Every error response the document lists: (method, route, status, description).
fn documented_errors(spec: &Value) -> Vec<(String, String, u16, String)> {
    let mut out = Vec::new();
    for (route, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in operations(item) {
            for (status, response) in op["responses"].as_object().unwrap() {
                let status: u16 = status.parse().unwrap();
                if status >= 400 {
                    let description = response["description"].as_str().unwrap_or("").to_string();
                    out.push((method.clone(), route.clone(), status, description));
                }
            }
        }
    }
    out
}

/// A request to `route` with its parameters filled in by `fill` (given each one's position and
/// name).
fn instantiate(route: &str, mut fill: impl FnMut(usize, &str) -> String) -> String {
    let mut out = String::new();
    let mut rest = route;
    let mut i = 0;
    while let Some(open) = rest.find('{') {
        let close = rest[open..].find('}').unwrap() + open;
        out.push_str(&rest[..open]);
        out.push_str(&fill(i, &rest[open + 1..close]));
        rest = &rest[close + 1..];
        i += 1;
    }
    out + rest
}

/// The answers every route may give, generated for each operation the document lists: 429 over
/// the rate limit; 400 `bad_path` for a path parameter that is not UTF-8; 400 `bad_query` for a
/// negative page size, and 400 `bad_limit` for a page over 256, on each paged list; on each route
/// reading state at `?at=`, 400 `bad_at`, 404 `block_not_found` above the head and 410
/// `state_pruned` below the state history.
fn generic_cases(spec: &Value, valid: &dyn Fn(&str) -> String) -> Vec<Case> {
    let mut out = Vec::new();
    for (route, item) in spec["paths"].as_object().unwrap() {
        let route: &'static str = Box::leak(route.clone().into_boxed_str());
        for (method, op) in operations(item) {
            let method: &'static str = Box::leak(method.clone().into_boxed_str());
            let uri = instantiate(route, |_, p| valid(p));
            let base = Case {
                method,
                route,
                uri: uri.clone(),
                header: None,
                body: "{}".into(),
                via: Via::Main,
                status: 400,
                code: "",
            };
            out.push(Case {
                via: Via::Limited,
                status: 429,
                code: "rate_limited",
                ..base.clone()
            });
            if route.contains('{') {
                let first_bad =
                    instantiate(route, |i, p| if i == 0 { "%FF".into() } else { valid(p) });
                out.push(Case {
                    uri: first_bad,
                    code: "bad_path",
                    ..base.clone()
                });
            }
            let paged = op["parameters"].as_array().is_some_and(|ps| {
                ps.iter()
                    .any(|p| p["in"] == "query" && p["name"] == "limit")
            });
            let takes = |name: &str| {
                op["parameters"]
                    .as_array()
                    .is_some_and(|ps| ps.iter().any(|p| p["in"] == "query" && p["name"] == name))
            };
            if takes("at") {
                out.push(Case {
                    uri: format!("{uri}?at=yesterday"),
                    code: "bad_at",
                    ..base.clone()
                });
                out.push(Case {
                    uri: format!("{uri}?at=999999"),
                    status: 404,
                    code: "block_not_found",
                    ..base.clone()
                });
                out.push(Case {
                    uri: format!("{uri}?at=0"),
                    via: Via::Pruned,
                    status: 410,
                    code: "state_pruned",
                    ..base.clone()
                });
            }
            if paged {
                out.push(Case {
                    uri: format!("{uri}?limit=-1"),
                    code: "bad_query",
                    ..base.clone()
                });
                out.push(Case {
                    uri: format!("{uri}?limit=257"),
                    code: "bad_limit",
                    ..base.clone()
                });
            }
        }
    }
    out
}

/// The servers a case may be sent to (see `Via`).
struct Servers {
    main: Router,
    limited: Router,
    one_stream: Router,
    full_pool: Router,
    pruned: Router,
}

/// Sends a case to its server; a rate-limited case until the budget is spent (at one request a
/// second, at most one of three requests sent one after another passes).
async fn run(servers: &Servers, c: &Case) -> (StatusCode, HeaderMap, Value) {
    let router = match c.via {
        Via::Main => &servers.main,
        Via::Limited => &servers.limited,
        Via::OneStream => &servers.one_stream,
        Via::FullPool => &servers.full_pool,
        Via::Pruned => &servers.pruned,
    };
    let attempts = if c.via == Via::Limited { 3 } else { 1 };
    let mut answer = None;
    for _ in 0..attempts {
        let mut req = Request::builder()
            .method(c.method.to_uppercase().as_str())
            .uri(&c.uri)
            .header("content-type", "application/json");
        if let Some((name, value)) = c.header {
            req = req.header(name, value);
        }
        let got = respond(router, req.body(Body::from(c.body.clone())).unwrap()).await;
        let done = got.0.as_u16() == c.status;
        answer = Some(got);
        if done {
            break;
        }
    }
    answer.unwrap()
}

/// A node whose mempool is full: the node holds `MAX_MEMPOOL` transactions, here one transfer
/// from each of as many keys funded at genesis.
fn full_pool() -> TestNode {
    let keys: Vec<Keypair> = (0..tensorchain_node::MAX_MEMPOOL)
        .map(|i| Keypair::dev(&format!("rest-errors/filler/{i}")))
        .collect();
    let t = setup_funding(&keys, 10 * RAO_PER_TAO);
    let to = dev_coldkey("bob").account();
    for k in &keys {
        t.node.admit(t.transfer(k, to, 1, 0)).unwrap();
    }
    assert_eq!(t.node.mempool_len(), tensorchain_node::MAX_MEMPOOL);
    t
}

#[tokio::test]
async fn every_documented_error_of_every_route_is_answered_as_documented() {
    let t = setup();
    let alice = dev_coldkey("alice");
    let bob = dev_coldkey("bob").account();
    // Subnet 1, owned by alice, whose owner hotkey may send free calls.
    let owner_hot = Keypair::dev("rest-errors/subnet");
    t.create_subnet(&alice, 0, owner_hot.account());
    assert!(t.node.ledger().subnet(1).unwrap().is_some());
    // Waiting in the mempool: alice's next transfer, and the two free calls one signer may queue.
    let pending = t.transfer(&alice, bob, 1, 1);
    t.node.submit_tx(pending.clone()).unwrap();
    t.node.submit_tx(axon(&t, &owner_hot, 0)).unwrap();
    let self_weight = Call::SetWeights {
        netuid: 1,
        uids: vec![0],
        values: vec![1],
        version_key: 0,
    };
    t.node
        .submit_tx(t.sign(&owner_hot, 1, self_weight))
        .unwrap();

    let router = |config: RpcConfig| {
        tensorchain_rpc::router_with(t.node.clone(), Arc::new(Metrics::new()), &config).unwrap()
    };
    let limited = router(RpcConfig {
        rate_limit_per_client: 1,
        rate_limit_global: 0,
        limit_loopback: true,
        ..RpcConfig::default()
    });
    let one_stream = router(RpcConfig {
        max_streams: 1,
        ..RpcConfig::default()
    });
    let held = one_stream
        .clone()
        .oneshot(Request::get("/v1/events").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(
        held.status(),
        StatusCode::OK,
        "the one stream slot is taken"
    );
    let full = full_pool();
    let pruned = setup_keeping(Some(1), |_| {});
    pruned.produce();
    pruned.produce();
    let servers = Servers {
        main: t.router.clone(),
        limited,
        one_stream,
        full_pool: full.router.clone(),
        pruned: pruned.router.clone(),
    };
    let (status, spec) = t.get("/openapi.json").await;
    assert_eq!(status, StatusCode::OK);

    let unknown = Hash::digest(b"nothing has this hash").to_hex();
    let nobody = Keypair::dev("rest-errors/nobody").account();
    let hk = owner_hot.account();
    let mut bad_sig = t.transfer(&alice, bob, 1, 2);
    bad_sig.signature.0[0] ^= 1;
    let too_big = json!({"tx": "0".repeat(100_000)}).to_string();
    let used_nonce = tx_body(&t.transfer(&alice, bob, 1, 0));
    let nominators = "/v1/hotkeys/{hk}/nominators";
    let neuron = "/v1/subnets/{netuid}/neurons/{uid}";
    let mut table = vec![
        get(
            "/v1/validators",
            "/v1/validators?cursor=nope",
            400,
            "bad_cursor",
        ),
        get("/v1/blocks/{id}", "/v1/blocks/99", 404, "block_not_found"),
        get(
            "/v1/blocks/{id}",
            format!("/v1/blocks/{unknown}"),
            404,
            "block_not_found",
        ),
        get(
            "/v1/blocks/{id}",
            "/v1/blocks/tomorrow",
            400,
            "bad_block_id",
        ),
        get("/v1/blocks/{id}", "/v1/blocks/0x00", 400, "bad_hash"),
        post(
            "/v1/txs",
            json!({"tx": "0x0102"}).to_string(),
            400,
            "malformed_tx",
        ),
        post("/v1/txs", "{not json", 400, "invalid_json"),
        post("/v1/txs", used_nonce.clone(), 409, "bad_nonce"),
        post("/v1/txs", tx_body(&pending), 409, "tx_already_known"),
        post("/v1/txs", too_big.clone(), 413, "payload_too_large"),
        post("/v1/txs", tx_body(&bad_sig), 422, "bad_signature"),
        post(
            "/v1/txs",
            tx_body(&t.transfer(&alice, bob, 10_000_000 * RAO_PER_TAO, 2)),
            422,
            "insufficient_balance",
        ),
        post(
            "/v1/txs",
            tx_body(&axon(&t, &owner_hot, 2)),
            429,
            "too_many_pending",
        ),
        via(
            post("/v1/txs", used_nonce.clone(), 503, "mempool_full"),
            Via::FullPool,
        ),
        post(
            "/v1/txs/batch",
            json!({"txs": ["0x0102"]}).to_string(),
            400,
            "malformed_tx",
        ),
        post("/v1/txs/batch", "{not json", 400, "invalid_json"),
        post(
            "/v1/txs/batch",
            json!({ "txs": vec!["0x00"; 1_025] }).to_string(),
            400,
            "too_many_txs",
        ),
        post(
            "/v1/txs/batch",
            json!({"txs": [format!("0x{}", "00".repeat(600_000))]}).to_string(),
            413,
            "payload_too_large",
        ),
        post(
            "/v1/txs/simulate",
            json!({"tx": "0x0102"}).to_string(),
            400,
            "malformed_tx",
        ),
        post("/v1/txs/simulate", "{not json", 400, "invalid_json"),
        post("/v1/txs/simulate", used_nonce, 409, "bad_nonce"),
        post("/v1/txs/simulate", too_big, 413, "payload_too_large"),
        post(
            "/v1/txs/simulate",
            tx_body(&t.transfer(&alice, bob, 0, 1)),
            422,
            "zero_amount",
        ),
        get("/v1/txs/{hash}", "/v1/txs/0xzz", 400, "bad_hash"),
        get(
            "/v1/txs/{hash}",
            format!("/v1/txs/{unknown}"),
            404,
            "tx_not_found",
        ),
        get(
            "/v1/accounts/{addr}",
            "/v1/accounts/not-an-address",
            400,
            "bad_address",
        ),
        get(
            "/v1/accounts/{addr}/stakes",
            "/v1/accounts/0x1234/stakes",
            400,
            "bad_address",
        ),
        get(
            "/v1/accounts/{addr}/txs",
            "/v1/accounts/nope/txs",
            400,
            "bad_address",
        ),
        get(
            "/v1/accounts/{addr}/txs",
            format!("/v1/accounts/{bob}/txs?cursor=7"),
            400,
            "bad_cursor",
        ),
        get("/v1/hotkeys", "/v1/hotkeys?cursor=nope", 400, "bad_cursor"),
        get("/v1/hotkeys/{hk}", "/v1/hotkeys/nope", 400, "bad_address"),
        get(
            "/v1/hotkeys/{hk}",
            format!("/v1/hotkeys/{nobody}"),
            404,
            "hotkey_not_found",
        ),
        get(
            nominators,
            "/v1/hotkeys/nope/nominators",
            400,
            "bad_address",
        ),
        get(
            nominators,
            format!("/v1/hotkeys/{hk}/nominators?cursor=nope"),
            400,
            "bad_cursor",
        ),
        get(
            nominators,
            format!("/v1/hotkeys/{nobody}/nominators"),
            404,
            "hotkey_not_found",
        ),
        get("/v1/subnets", "/v1/subnets?cursor=x", 400, "bad_cursor"),
        get(
            "/v1/subnets/{netuid}/metagraph",
            "/v1/subnets/1/metagraph?fields=uid,nope",
            400,
            "unknown_field",
        ),
        get(neuron, "/v1/subnets/1/neurons/99", 404, "neuron_not_found"),
        get(neuron, "/v1/subnets/9/neurons/0", 404, "subnet_not_found"),
        get(neuron, "/v1/subnets/x/neurons/0", 400, "bad_netuid"),
        get(neuron, "/v1/subnets/1/neurons/x", 400, "bad_uid"),
        get(
            "/v1/subnets/{netuid}/epochs",
            "/v1/subnets/1/epochs?cursor=x",
            400,
            "bad_cursor",
        ),
        get(
            "/v1/events",
            "/v1/events?topics=block,gossip",
            400,
            "unknown_topic",
        ),
        Case {
            header: Some(("last-event-id", "yesterday")),
            ..get("/v1/events", "/v1/events", 400, "bad_last_event_id")
        },
        via(
            get("/v1/events", "/v1/events", 503, "too_many_streams"),
            Via::OneStream,
        ),
    ];
    for route in [
        "/v1/subnets/{netuid}",
        "/v1/subnets/{netuid}/hyperparameters",
        "/v1/subnets/{netuid}/registration-cost",
        "/v1/subnets/{netuid}/metagraph",
        "/v1/subnets/{netuid}/weights",
        "/v1/subnets/{netuid}/bonds",
        "/v1/subnets/{netuid}/epochs",
    ] {
        table.push(get(
            route,
            instantiate(route, |_, _| "9".into()),
            404,
            "subnet_not_found",
        ));
        table.push(get(
            route,
            instantiate(route, |_, _| "x".into()),
            400,
            "bad_netuid",
        ));
    }
    let valid = |param: &str| match param {
        "id" => "1".to_string(),
        "hash" => pending.hash().to_hex(),
        "addr" => alice.account().to_ss58(),
        "hk" => hk.to_ss58(),
        "netuid" => "1".to_string(),
        "uid" => "0".to_string(),
        other => panic!("no valid value for the path parameter {other}"),
    };
    table.extend(generic_cases(&spec, &valid));

    let mut problems = Vec::new();
    for c in &table {
        let (status, headers, v) = run(&servers, c).await;
        let shaped = v["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty())
            && v["error"]["hint"].as_str().is_some_and(|h| !h.is_empty());
        let retry = !["rate_limited", "too_many_streams"].contains(&c.code)
            || headers.contains_key("retry-after");
        if (status.as_u16(), code(&v)) != (c.status, c.code) || !shaped || !retry {
            problems.push(format!(
                "{} {} via {:?}: wanted {} {}, got {status} {v}",
                c.method, c.uri, c.via, c.status, c.code
            ));
        }
    }
    drop(held);

    // The document places each parameter where the route takes it (the generated `bad_query`
    // cases rely on it): path parameters are exactly the route's, the rest are queries.
    for (route, item) in spec["paths"].as_object().unwrap() {
        let mut in_route = BTreeSet::new();
        instantiate(route, |_, p| {
            in_route.insert(p.to_string());
            String::new()
        });
        for (method, op) in operations(item) {
            let params = op["parameters"].as_array().cloned().unwrap_or_default();
            let in_path: BTreeSet<String> = params
                .iter()
                .filter(|p| p["in"] == "path")
                .map(|p| p["name"].as_str().unwrap().to_string())
                .collect();
            if in_path != in_route {
                problems.push(format!(
                    "{method} {route}: path parameters {in_path:?}, the route has {in_route:?}"
                ));
            }
        }
    }

    // Every error the document lists has a case: each status, and each code it names.
    for (method, route, status, description) in documented_errors(&spec) {
        let cases: Vec<&Case> = table
            .iter()
            .filter(|c| c.method == method && c.route == route && c.status == status)
            .collect();
        if let Some(why) = unreachable(&method, &route, status) {
            if !cases.is_empty() {
                problems.push(format!(
                    "{method} {route} {status}: listed as unreachable ({why}), yet it has a case"
                ));
            }
            continue;
        }
        if cases.is_empty() {
            problems.push(format!(
                "{method} {route} {status} ({description}): no case"
            ));
        }
        for code in codes_in(&description) {
            if !cases.iter().any(|c| c.code == code) {
                problems.push(format!(
                    "{method} {route} {status} {code}: documented, no case"
                ));
            }
        }
    }
    // And every case is documented for its route (codes any route gives: in the description).
    let info = spec["info"]["description"].as_str().unwrap();
    for c in &table {
        let op = &spec["paths"][c.route][c.method];
        if op.is_null() {
            problems.push(format!(
                "{} {}: no such route in the document",
                c.method, c.route
            ));
            continue;
        }
        if ["bad_path", "bad_query"].contains(&c.code) && info.contains(&format!("`{}`", c.code)) {
            continue;
        }
        let listed = op["responses"][c.status.to_string()]["description"]
            .as_str()
            .is_some_and(|d| {
                let named = codes_in(d);
                named.contains(c.code) || named.is_empty() || d.contains('…')
            });
        if !listed {
            problems.push(format!(
                "{} {} answers {} {}, which the document does not list for it",
                c.method, c.route, c.status, c.code
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
    drop(full);
}
