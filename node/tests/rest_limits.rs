//! The REST API under abuse, over a real server on 127.0.0.1 (a real node, in-memory store):
//! hostile parameters and headers never crash a handler, metric series stay fixed, rate limits
//! answer 429 with Retry-After, event streams are capped, deduplicated and drop slow readers, and
//! every list is paged. Requests are written by hand on a TCP socket so that any method string,
//! any bytes in a header and a client that stops reading can be sent.

use serde_json::Value;
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;
use tensorchain_genesis::{dev_hotkey, ChainSpec};
use tensorchain_ledger::{BlockLimits, Ledger, MemoryStore};
use tensorchain_node::Node;
use tensorchain_primitives::{Commit, Hash};
use tensorchain_rpc::{BlockEvent, Metrics, NodeApi, RpcConfig, SubmitError, TxStatus};
use tokio::runtime::Runtime;
use tokio::sync::broadcast;

/// Longest any one response may take here: far above a loaded CI machine's worst case.
const IO_TIMEOUT: Duration = Duration::from_secs(20);

/// A node's API served on 127.0.0.1 by its own runtime; the test talks to it with blocking I/O.
struct Server {
    addr: SocketAddr,
    node: Arc<Node>,
    spec: ChainSpec,
    _rt: Runtime,
}

fn chain() -> (Arc<Node>, ChainSpec) {
    let spec = ChainSpec::devnet(1, 1_000);
    let ledger =
        Arc::new(Ledger::open(Arc::new(MemoryStore::new()), &spec.genesis_state()).unwrap());
    let node = Arc::new(Node::new(ledger, Arc::new(Metrics::new()), None));
    (node, spec)
}

fn serve(api: Arc<dyn NodeApi>, config: RpcConfig) -> (SocketAddr, Runtime) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let router = tensorchain_rpc::router_with(api, Arc::new(Metrics::new()), &config).unwrap();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    rt.spawn(tensorchain_rpc::serve(
        listener,
        router,
        std::future::pending(),
    ));
    (addr, rt)
}

fn start(config: RpcConfig) -> Server {
    let (node, spec) = chain();
    let (addr, rt) = serve(node.clone(), config);
    Server {
        addr,
        node,
        spec,
        _rt: rt,
    }
}

impl Server {
    /// One block, signed by the devnet's only validator (as in rest_api.rs).
    fn produce(&self) {
        let validator = dev_hotkey("alice");
        let head = self.node.ledger().head();
        let built = self
            .node
            .build_block(
                validator.account(),
                head.time_ms + 1_000,
                BlockLimits::default(),
            )
            .unwrap();
        let domain = self.spec.signing_domain();
        let commit = Commit::signed_by(&built.executed.block, &domain, &[&validator]);
        self.node
            .commit_block(built.executed, &commit, &built.rejected, true)
            .unwrap();
    }
}

/// A response read off the socket: status (0 if the server closed without answering), headers
/// (lower-cased names) and body.
#[derive(Debug)]
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }

    fn code(&self) -> String {
        self.json()["error"]["code"]
            .as_str()
            .unwrap_or("<none>")
            .to_string()
    }
}

/// Writes a request with arbitrary method, target and header bytes.
fn send(addr: SocketAddr, method: &[u8], target: &[u8], headers: &[&[u8]]) -> TcpStream {
    let mut req = Vec::new();
    for part in [
        method,
        b" ",
        target,
        b" HTTP/1.1\r\nhost: test\r\nconnection: close\r\n",
    ] {
        req.extend_from_slice(part);
    }
    for h in headers {
        req.extend_from_slice(h);
        req.extend_from_slice(b"\r\n");
    }
    req.extend_from_slice(b"\r\n");
    let sock = TcpStream::connect(addr).unwrap();
    sock.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    (&sock).write_all(&req).unwrap();
    sock
}

/// Reads the head of a response, and its body unless it is an event stream.
fn read_reply(sock: &mut TcpStream) -> Reply {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        let n = sock.read(&mut chunk).unwrap_or(0);
        if n == 0 {
            // Closed (or timed out) without a response: what a panicking handler does to a connection.
            return Reply {
                status: 0,
                headers: vec![],
                body: String::new(),
            };
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let mut rest = buf[head_end + 4..].to_vec();
    let streaming = headers
        .iter()
        .any(|(n, v)| n == "content-type" && v.starts_with("text/event-stream"));
    if !streaming {
        sock.read_to_end(&mut rest)
            .expect("a response body in time");
    }
    let chunked = headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v == "chunked");
    let body = if chunked && !streaming {
        dechunk(&rest)
    } else {
        String::from_utf8_lossy(&rest).to_string()
    };
    Reply {
        status,
        headers,
        body,
    }
}

fn dechunk(mut raw: &[u8]) -> String {
    let mut out = Vec::new();
    while let Some(i) = raw.windows(2).position(|w| w == b"\r\n") {
        let size =
            usize::from_str_radix(String::from_utf8_lossy(&raw[..i]).trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        let start = i + 2;
        out.extend_from_slice(&raw[start..(start + size).min(raw.len())]);
        raw = &raw[(start + size + 2).min(raw.len())..];
    }
    String::from_utf8_lossy(&out).to_string()
}

fn get(addr: SocketAddr, target: &str) -> Reply {
    let mut sock = send(addr, b"GET", target.as_bytes(), &[]);
    read_reply(&mut sock)
}

fn limited(per_client: u32, global: u32) -> RpcConfig {
    RpcConfig {
        rate_limit_per_client: per_client,
        rate_limit_global: global,
        limit_loopback: true,
        ..RpcConfig::default()
    }
}

/// Every route template with each hostile value in each parameter, each list's query parameters
/// with them, and hostile Last-Event-ID headers: never a crash or a 5xx, always a named error.
#[test]
fn no_parameter_or_header_crashes_a_handler() {
    let s = start(RpcConfig {
        rate_limit_per_client: 0,
        rate_limit_global: 0,
        ..RpcConfig::default()
    });
    s.produce();
    let long = "9".repeat(4_000);
    let values: Vec<&str> = vec![
        "0",
        "1",
        "-1",
        "65535",
        "65536",
        "18446744073709551615",
        "18446744073709551616",
        "-18446744073709551616",
        "99999999999999999999999999999999",
        "%FF%FE%00",
        "%C3%28",
        "0x",
        "0xffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
        "head",
        "%20",
        &long,
    ];
    let templates = [
        "/v1/blocks/{}",
        "/v1/txs/{}",
        "/v1/accounts/{}",
        "/v1/accounts/{}/stakes",
        "/v1/hotkeys/{}",
        "/v1/hotkeys/{}/nominators",
        "/v1/subnets/{}",
        "/v1/subnets/{}/hyperparameters",
        "/v1/subnets/{}/registration-cost",
        "/v1/subnets/{}/metagraph",
        "/v1/subnets/1/neurons/{}",
        "/v1/subnets/{}/neurons/0",
        "/v1/subnets/{}/weights",
        "/v1/subnets/{}/bonds",
        "/v1/subnets/{}/epochs",
        "/v1/blocks?limit={}",
        "/v1/blocks?cursor={}",
        "/v1/hotkeys?limit={}",
        "/v1/hotkeys?cursor={}",
        "/v1/subnets?limit={}&cursor={}",
        "/v1/subnets/1/epochs?limit={}&cursor={}",
        "/v1/validators?limit={}&cursor={}",
        "/v1/subnets/1/metagraph?fields={}",
        "/v1/events?topics={}",
    ];
    for template in templates {
        for v in &values {
            let target = template.replace("{}", v);
            let mut sock = send(s.addr, b"GET", target.as_bytes(), &[]);
            let r = read_reply(&mut sock);
            let shown = &target[..target.len().min(80)];
            assert!(
                r.status != 0,
                "{shown}: connection dropped without a response"
            );
            assert!(r.status < 500, "{shown}: {r:?}");
            if r.status >= 400 {
                assert_ne!(
                    r.code(),
                    "<none>",
                    "{shown}: not the API's error shape: {r:?}"
                );
            }
        }
    }
    let headers: [&[u8]; 7] = [
        b"last-event-id: 18446744073709551615",
        b"last-event-id: 18446744073709551614",
        b"last-event-id: -1",
        b"last-event-id: 99999999999999999999999",
        b"last-event-id: \xff\xfe",
        b"last-event-id: 0",
        b"last-event-id: ",
    ];
    for h in headers {
        let mut sock = send(s.addr, b"GET", b"/v1/events?topics=block", &[h]);
        let r = read_reply(&mut sock);
        let shown = String::from_utf8_lossy(h);
        assert!(
            r.status != 0,
            "{shown}: connection dropped without a response"
        );
        assert!(
            r.status == 200 || (r.status == 400 && r.code() == "bad_last_event_id"),
            "{shown}: {r:?}"
        );
    }
    // The node still serves, and nothing a hostile request sent changed its head.
    let r = get(s.addr, "/v1/blocks/head");
    assert_eq!(r.json()["data"]["header"]["height"], 1, "{r:?}");
}

/// The number of `http_requests` series.
fn http_series(metrics: &str) -> usize {
    metrics
        .lines()
        .filter(|l| l.starts_with("tensorchain_http_requests_total{"))
        .count()
}

#[test]
fn random_methods_and_paths_do_not_grow_the_metrics() {
    let s = start(RpcConfig::default());
    // A first scrape, so that /metrics' own series exists before counting.
    get(s.addr, "/metrics");
    let mut series = Vec::new();
    for round in 0..3u32 {
        for i in 0..100u32 {
            let method = format!("M{}X{i}", round * 1_000 + i);
            let path = format!("/v1/made-up/{round}/{i}?q={i}");
            let mut sock = send(s.addr, method.as_bytes(), path.as_bytes(), &[]);
            let r = read_reply(&mut sock);
            assert!(r.status >= 400 && r.status < 500, "{method} {path}: {r:?}");
            let r = get(s.addr, &format!("/v1/blocks/{i}"));
            assert!(r.status == 200 || r.status == 404);
        }
        let metrics = get(s.addr, "/metrics");
        series.push(http_series(&metrics.body));
    }
    assert!(series[0] > 0, "{series:?}");
    assert!(
        series.iter().all(|n| *n == series[0]),
        "series grew: {series:?}"
    );
    assert!(series[0] <= 16, "{series:?}");
}

#[test]
fn over_budget_requests_get_429_with_retry_after_and_heavy_routes_cost_more() {
    // 30 units a second: three heavy requests spend it, then even a light one is refused.
    let s = start(limited(30, 0));
    for _ in 0..3 {
        let r = get(s.addr, "/v1/blocks?limit=5");
        assert_eq!(r.status, 200, "{r:?}");
    }
    let r = get(s.addr, "/v1/chain");
    assert_eq!(r.status, 429, "{r:?}");
    assert_eq!(r.code(), "rate_limited");
    let retry: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=2).contains(&retry), "{retry}");
    assert_eq!(r.json()["error"]["details"]["scope"], "client");
    // The global budget refuses what no single client's would.
    let s2 = start(limited(0, 5));
    let codes: Vec<u16> = (0..10).map(|_| get(s2.addr, "/v1/chain").status).collect();
    assert!(codes.contains(&429), "{codes:?}");

    // Loopback clients are exempt by default: a devnet's tools are not throttled.
    let open = start(RpcConfig {
        rate_limit_per_client: 1,
        rate_limit_global: 1,
        ..RpcConfig::default()
    });
    for _ in 0..50 {
        let r = get(open.addr, "/v1/subnets/1/metagraph");
        assert!(r.status == 200 || r.status == 404, "{r:?}");
    }
}

fn open_stream(addr: SocketAddr, target: &str, headers: &[&[u8]]) -> (TcpStream, Reply) {
    let mut sock = send(addr, b"GET", target.as_bytes(), headers);
    let r = read_reply(&mut sock);
    (sock, r)
}

#[test]
fn event_streams_are_capped_per_client_and_in_all() {
    let s = start(RpcConfig {
        max_streams: 3,
        max_streams_per_client: 2,
        ..limited(0, 0)
    });
    let (a, r) = open_stream(s.addr, "/v1/events", &[]);
    assert_eq!(r.status, 200);
    let (_b, r) = open_stream(s.addr, "/v1/events", &[]);
    assert_eq!(r.status, 200);
    let (_, r) = open_stream(s.addr, "/v1/events", &[]);
    assert_eq!(
        (r.status, r.code().as_str()),
        (503, "too_many_streams"),
        "{r:?}"
    );
    assert!(r.header("retry-after").is_some());
    assert_eq!(r.json()["error"]["details"]["scope"], "client");
    // Closing a stream frees its slot (the server notices at its next write).
    drop(a);
    s.produce();
    let mut reopened = false;
    for _ in 0..50 {
        let (_c, r) = open_stream(s.addr, "/v1/events", &[]);
        if r.status == 200 {
            reopened = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
        s.produce();
    }
    assert!(reopened, "a closed stream's slot was never freed");

    // The total: loopback exempt from the per-client cap, but not from the node's.
    let s = start(RpcConfig {
        max_streams: 2,
        max_streams_per_client: 1,
        ..RpcConfig::default()
    });
    let (_a, r1) = open_stream(s.addr, "/v1/events", &[]);
    let (_b, r2) = open_stream(s.addr, "/v1/events", &[]);
    let (_, r3) = open_stream(s.addr, "/v1/events", &[]);
    assert_eq!((r1.status, r2.status, r3.status), (200, 200, 503));
    assert_eq!(r3.json()["error"]["details"]["scope"], "node");
}

/// Reads stream bytes until `done` holds for what was read, or the stream ends.
fn read_stream_until(
    sock: &mut TcpStream,
    mut seen: String,
    done: impl Fn(&str) -> bool,
) -> String {
    let mut chunk = [0u8; 65536];
    while !done(&seen) {
        let n = sock.read(&mut chunk).expect("stream bytes in time");
        if n == 0 {
            break;
        }
        seen.push_str(&String::from_utf8_lossy(&chunk[..n]));
    }
    seen
}

#[test]
fn repeated_topics_are_sent_once() {
    let s = start(RpcConfig::default());
    let (mut sock, r) = open_stream(s.addr, "/v1/events?topics=block,block,block,block", &[]);
    assert_eq!(r.status, 200);
    s.produce();
    s.produce();
    let seen = read_stream_until(&mut sock, r.body, |t| t.contains("id: 2"));
    assert_eq!(seen.matches("event: block").count(), 2, "{seen}");
}

/// A `NodeApi` whose event channel is tiny, so a subscriber that does not read falls behind.
struct TinyChannel {
    node: Arc<Node>,
    events: broadcast::Sender<BlockEvent>,
}

impl NodeApi for TinyChannel {
    fn ledger(&self) -> &Ledger {
        self.node.ledger()
    }
    fn submit_tx(&self, tx: tensorchain_primitives::SignedTx) -> Result<Hash, SubmitError> {
        self.node.submit_tx(tx)
    }
    fn local_tx_status(&self, hash: &Hash) -> Option<TxStatus> {
        self.node.local_tx_status(hash)
    }
    fn next_nonce(&self, account: &tensorchain_primitives::AccountId) -> u64 {
        self.node.next_nonce(account)
    }
    fn mempool_len(&self) -> usize {
        self.node.mempool_len()
    }
    fn subscribe(&self) -> broadcast::Receiver<BlockEvent> {
        self.events.subscribe()
    }
}

#[test]
fn a_subscriber_that_falls_behind_is_dropped_with_a_reason() {
    let (node, _) = chain();
    let (events, _) = broadcast::channel(4);
    let api = Arc::new(TinyChannel {
        node,
        events: events.clone(),
    });
    let (addr, _rt) = serve(api, RpcConfig::default());
    let (mut sock, r) = open_stream(addr, "/v1/events?topics=tx", &[]);
    assert_eq!(r.status, 200);
    // Big events the client does not read: the socket's buffers fill, the stream stops being
    // polled, and the channel overtakes it.
    let big = |height| BlockEvent {
        height,
        hash: Hash::digest(&height.to_be_bytes()),
        time_ms: 0,
        tx_hashes: (0..5_000u32)
            .map(|i| Hash::digest(&i.to_be_bytes()))
            .collect(),
        round: 0,
        events: vec![],
        epochs: vec![],
        tx_fates: vec![],
    };
    for h in 1..=200 {
        let _ = events.send(big(h));
        if h % 10 == 0 {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    let seen = read_stream_until(&mut sock, r.body, |t| t.contains("event: dropped"));
    assert!(seen.contains("event: dropped"), "no dropped event");
    assert!(seen.contains("slow_subscriber"));
    // After the reason, the stream ends: the server closes the connection.
    let mut rest = Vec::new();
    let ended = sock.read_to_end(&mut rest);
    assert!(
        ended.is_ok(),
        "the stream went on after dropping the subscriber"
    );
}

#[test]
fn every_list_is_paged_with_a_cursor() {
    let s = start(RpcConfig::default());
    for _ in 0..3 {
        s.produce();
    }
    // Blocks: a page of one, then the next from its cursor.
    let r = get(s.addr, "/v1/blocks?limit=1");
    let page = &r.json()["data"];
    assert_eq!(page["items"].as_array().unwrap().len(), 1, "{r:?}");
    assert_eq!(page["items"][0]["height"], 3);
    assert_eq!(page["next_cursor"], 2);
    // Hotkeys: following cursors one at a time visits each once, as the full page lists them.
    let all = get(s.addr, "/v1/hotkeys?limit=256").json()["data"]["items"]
        .as_array()
        .unwrap()
        .clone();
    assert!(!all.is_empty());
    let mut walked = Vec::new();
    let mut target = "/v1/hotkeys?limit=1".to_string();
    for _ in 0..=all.len() {
        let page = get(s.addr, &target).json()["data"].clone();
        walked.extend(page["items"].as_array().unwrap().clone());
        match page["next_cursor"].as_str() {
            Some(c) => target = format!("/v1/hotkeys?limit=1&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(walked, all);
    // Every other list takes the same parameters and answers the same shape.
    let hk = all[0]["hotkey"].as_str().unwrap();
    for list in [
        "/v1/subnets?limit=1",
        &*format!("/v1/hotkeys/{hk}/nominators?limit=1"),
        "/v1/subnets/1/epochs?limit=1",
    ] {
        let r = get(s.addr, list);
        if r.status == 404 {
            assert_eq!(r.code(), "subnet_not_found", "{list}");
            continue;
        }
        assert_eq!(r.status, 200, "{list}: {r:?}");
        let data = &r.json()["data"];
        assert!(data["items"].as_array().unwrap().len() <= 1, "{list}");
        assert!(data.get("next_cursor").is_some(), "{list}: {data}");
    }
    let v = get(s.addr, "/v1/validators?limit=1").json();
    assert!(v["data"]["candidates"].as_array().unwrap().len() <= 1);
    assert!(v["data"].get("next_cursor").is_some());
    // A page is never larger than the maximum: a larger one is refused, not silently clamped.
    let r = get(s.addr, "/v1/blocks?limit=4000000000");
    assert_eq!((r.status, r.code().as_str()), (400, "bad_limit"));
    let r = get(s.addr, "/v1/blocks?limit=256");
    assert_eq!(r.status, 200);
    let r = get(s.addr, "/v1/hotkeys?cursor=not-a-key");
    assert_eq!((r.status, r.code().as_str()), (400, "bad_cursor"));
}

#[test]
fn cors_is_off_by_default_and_follows_the_flag() {
    let origin: &[u8] = b"origin: https://app.example";
    let s = start(RpcConfig::default());
    let mut sock = send(s.addr, b"GET", b"/v1/chain", &[origin]);
    let r = read_reply(&mut sock);
    assert_eq!(r.header("access-control-allow-origin"), None);
    let s = start(RpcConfig {
        cors_origins: vec!["https://app.example".into()],
        ..RpcConfig::default()
    });
    let mut sock = send(s.addr, b"GET", b"/v1/chain", &[origin]);
    let r = read_reply(&mut sock);
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("https://app.example")
    );
    assert!(RpcConfig {
        cors_origins: vec!["bad\norigin".into()],
        ..RpcConfig::default()
    }
    .validate()
    .is_err());
}

#[test]
fn the_openapi_document_states_the_limits_on_every_route() {
    let s = start(RpcConfig::default());
    let spec = get(s.addr, "/openapi.json").json();
    let paths = spec["paths"].as_object().unwrap();
    assert!(paths.contains_key("/v1/hotkeys/{hk}/nominators"));
    for (path, item) in paths {
        for (method, op) in item.as_object().unwrap() {
            for status in ["429", "503"] {
                assert!(
                    op["responses"].get(status).is_some(),
                    "{method} {path} lacks {status}"
                );
            }
        }
    }
}
