//! Sending on schedule over several connections, one thread and one HTTP agent (one kept-alive
//! connection) each. A lane sleeps until its next transaction is due, then sends every one due
//! by then, up to `--batch`, in one request: open loop, so a slow node makes transactions late
//! (and their latency counts from when they were due), never fewer. With `--batch` above 1 a
//! lane sends at most once per `BATCH_WINDOW`, as a wallet or exchange gathering withdrawals
//! would, and as nodes gather gossip: without it a lane whose requests return fast sends one or
//! two transactions a request, and the node spends its cores switching between thousands of
//! requests a second instead of admitting transactions. The wait counts in the latency.
//!
//! `--batch 1` posts each transaction to `POST /v1/txs` (JSON, hex); more posts borsh
//! `Vec<SignedTx>` to `POST /v1/txs/batch`, whose answer has one result per transaction in
//! request order, or one error for the whole batch (503 `overloaded`).

use super::plan::Signed;
use crate::error::{CliError, CliResult};
use serde_json::{json, Value};
use std::io::Read;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How long a request may take before its transactions count as `transport_error`: far beyond any
/// admission, short enough that a wedged node does not hold a lane for the whole run.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The largest answer read from the node: a full batch's results with long error messages are
/// well under a megabyte.
const MAX_ANSWER_BYTES: u64 = 4 << 20;

/// The least time between two batch requests of one lane (the gossip batch window too).
const BATCH_WINDOW: Duration = Duration::from_millis(10);

/// Where and how transactions are sent.
pub struct Target {
    pub base: String,
    pub batch: usize,
}

/// Running totals of every lane, for the progress line.
#[derive(Default)]
pub struct Counters {
    pub sent: AtomicU64,
    pub accepted: AtomicU64,
    pub rejected: AtomicU64,
}

/// What one lane did.
#[derive(Default)]
pub struct LaneResult {
    /// Indices the node accepted (status `pending`).
    pub accepted: Vec<u32>,
    /// Indices refused, with the node's code.
    pub refused: Vec<(u32, String)>,
    /// Transactions due at or after `measure_from` that were sent, and when the last of their
    /// requests ended (after the start).
    pub measured_sent: u64,
    pub last_sent: Duration,
}

fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new()
        .timeout_connect(CONNECT_TIMEOUT)
        .timeout(REQUEST_TIMEOUT)
        .max_idle_connections_per_host(1)
        .build()
}

/// Checks that the node has the batch route before anything is signed for it.
pub fn probe_batch(target: &Target) -> CliResult<()> {
    // An empty borsh vector: a node with the route answers it (with results or an error of its
    // own); a node without it answers 404, or 405 where `GET /v1/txs/{hash}` takes the path.
    let url = format!("{}/v1/txs/batch", target.base);
    let answer = agent()
        .post(&url)
        .set("content-type", "application/octet-stream")
        .send_bytes(&0u32.to_le_bytes());
    match answer {
        Err(ureq::Error::Status(404 | 405, _)) => Err(CliError::new(
            "batch_unsupported",
            format!("{} has no POST /v1/txs/batch", target.base),
            "send one transaction per request with --batch 1",
        )),
        Err(ureq::Error::Transport(e)) => Err(CliError::new(
            "node_unreachable",
            format!("cannot reach {}: {e}", target.base),
            "start a devnet with `tensorchain devnet up` or pass --network URL",
        )),
        _ => Ok(()),
    }
}

/// A JSON answer, read up to `MAX_ANSWER_BYTES` (None if longer or not JSON).
fn read_json(resp: ureq::Response) -> Option<Value> {
    serde_json::from_reader(resp.into_reader().take(MAX_ANSWER_BYTES)).ok()
}

/// The error code of a failed request (the node's own when it sent one).
fn failure_code(e: ureq::Error) -> String {
    match e {
        ureq::Error::Status(status, resp) => read_json(resp)
            .and_then(|v| v["error"]["code"].as_str().map(str::to_string))
            .unwrap_or_else(|| format!("http_{status}")),
        ureq::Error::Transport(t) => match t.kind() {
            ureq::ErrorKind::ConnectionFailed | ureq::ErrorKind::Dns => "node_unreachable".into(),
            // Timeouts and broken connections: the node may or may not have taken them.
            _ => "transport_error".into(),
        },
    }
}

/// Sends `ks` (indices into `txs`) in one request; returns each one's outcome: None for
/// accepted, the code for refused.
fn send_request(
    agent: &ureq::Agent,
    target: &Target,
    txs: &[Signed],
    ks: &[u32],
) -> Vec<Option<String>> {
    let all = |code: String| vec![Some(code); ks.len()];
    if target.batch == 1 {
        return ks
            .iter()
            .map(|&k| {
                let body = json!({"tx": format!("0x{}", hex::encode(&txs[k as usize].bytes))});
                match agent
                    .post(&format!("{}/v1/txs", target.base))
                    .send_json(body)
                {
                    // Read to the end, so the connection goes back to the agent for the next.
                    Ok(resp) => read_json(resp).map_or(Some("bad_response".into()), |_| None),
                    Err(e) => Some(failure_code(e)),
                }
            })
            .collect();
    }
    // borsh Vec<SignedTx>: a u32 count, then each transaction's bytes.
    let len: usize = ks.iter().map(|&k| txs[k as usize].bytes.len()).sum();
    let mut body = Vec::with_capacity(4 + len);
    body.extend_from_slice(&(ks.len() as u32).to_le_bytes());
    for &k in ks {
        body.extend_from_slice(&txs[k as usize].bytes);
    }
    let answer = agent
        .post(&format!("{}/v1/txs/batch", target.base))
        .set("content-type", "application/octet-stream")
        .send_bytes(&body);
    let resp = match answer {
        Ok(resp) => resp,
        Err(e) => return all(failure_code(e)),
    };
    let Some(v) = read_json(resp) else {
        return all("bad_response".into());
    };
    let results = v["data"]["results"].as_array().cloned().unwrap_or_default();
    if results.len() != ks.len() {
        return all("bad_response".into());
    }
    results
        .iter()
        .map(|r| {
            r.get("error")
                .map(|e| e["code"].as_str().unwrap_or("rejected").to_string())
        })
        .collect()
}

/// Sends every lane on a thread of its own, `ks` of each in order, each no earlier than
/// `start + due(k)`; `meanwhile` runs on the calling thread until all are done (it should wait
/// briefly each time, e.g. on the event stream). An error from it ends the run once the lanes
/// have finished.
#[allow(clippy::too_many_arguments)] // what every lane's thread borrows, and the schedule
pub fn run_lanes(
    target: &Target,
    txs: &[Signed],
    lanes: &[Vec<u32>],
    start: Instant,
    due: &(dyn Fn(u32) -> Duration + Sync),
    measure_from: Duration,
    counters: &Counters,
    mut meanwhile: impl FnMut() -> CliResult<()>,
) -> CliResult<Vec<LaneResult>> {
    std::thread::scope(|scope| {
        let handles: Vec<_> = lanes
            .iter()
            .map(|ks| {
                scope.spawn(move || lane(target, txs, ks, start, due, measure_from, counters))
            })
            .collect();
        while !handles.iter().all(|h| h.is_finished()) {
            meanwhile()?;
        }
        Ok(handles
            .into_iter()
            .map(|h| h.join().expect("a sending thread panicked"))
            .collect())
    })
}

/// One lane: sends `ks` in order, each no earlier than `start + due(k)`.
fn lane(
    target: &Target,
    txs: &[Signed],
    ks: &[u32],
    start: Instant,
    due: &(dyn Fn(u32) -> Duration + Sync),
    measure_from: Duration,
    counters: &Counters,
) -> LaneResult {
    let agent = agent();
    let mut out = LaneResult::default();
    let mut i = 0;
    let window = if target.batch > 1 {
        BATCH_WINDOW
    } else {
        Duration::ZERO
    };
    let mut last_request = start;
    while i < ks.len() {
        let next = (start + due(ks[i])).max(last_request + window);
        if let Some(wait) = next.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        last_request = Instant::now();
        let now = start.elapsed();
        let mut j = i + 1;
        while j < ks.len() && j - i < target.batch && due(ks[j]) <= now {
            j += 1;
        }
        let batch = &ks[i..j];
        let outcomes = send_request(&agent, target, txs, batch);
        let ended = start.elapsed();
        let mut accepted = 0;
        for (&k, outcome) in batch.iter().zip(outcomes) {
            if due(k) >= measure_from {
                out.measured_sent += 1;
                out.last_sent = ended;
            }
            match outcome {
                None => {
                    out.accepted.push(k);
                    accepted += 1;
                }
                Some(code) => out.refused.push((k, code)),
            }
        }
        counters
            .sent
            .fetch_add(batch.len() as u64, Ordering::Relaxed);
        counters.accepted.fetch_add(accepted, Ordering::Relaxed);
        counters
            .rejected
            .fetch_add(batch.len() as u64 - accepted, Ordering::Relaxed);
        i = j;
    }
    out
}

/// Each lane's indices: a signer's transactions all go through one lane, in nonce order, so a
/// later nonce never overtakes an earlier one on another connection.
pub fn lanes(
    ks: impl Iterator<Item = u32>,
    lane_of: impl Fn(u32) -> usize,
    connections: usize,
) -> Vec<Vec<u32>> {
    let mut lanes = vec![Vec::new(); connections];
    for k in ks {
        lanes[lane_of(k) % connections].push(k);
    }
    lanes
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader, Write};
    use std::net::TcpListener;
    use tensorchain_primitives::{Call, Hash, Keypair, SignedTx, SigningDomain, Tx};

    /// A one-request HTTP server answering `status` and `body`; returns its URL and a handle
    /// yielding the request's content type and body.
    fn serve_once(
        status: &'static str,
        body: String,
    ) -> (String, std::thread::JoinHandle<(String, Vec<u8>)>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let handle = std::thread::spawn(move || {
            let (sock, _) = listener.accept().unwrap();
            let mut reader = BufReader::new(sock);
            let (mut length, mut content_type) = (0, String::new());
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                let line = line.trim_end().to_ascii_lowercase();
                if line.is_empty() {
                    break;
                }
                if let Some(v) = line.strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap();
                }
                if let Some(v) = line.strip_prefix("content-type:") {
                    content_type = v.trim().to_string();
                }
            }
            let mut request = vec![0; length];
            reader.read_exact(&mut request).unwrap();
            let answer = format!(
                "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            reader.get_mut().write_all(answer.as_bytes()).unwrap();
            (content_type, request)
        });
        (url, handle)
    }

    fn signed(n: u64) -> Vec<Signed> {
        let domain = SigningDomain::new("tensorchain-devnet", Hash::digest(b"g"));
        let key = Keypair::dev("alice");
        (0..n)
            .map(|nonce| {
                let stx = Tx {
                    chain_id: domain.chain_id.clone(),
                    signer: key.account(),
                    nonce,
                    fee: 1,
                    call: Call::Transfer {
                        to: key.account(),
                        amount: 1,
                    },
                }
                .sign(&key, &domain);
                Signed {
                    hash: stx.hash(),
                    bytes: stx.to_bytes(),
                }
            })
            .collect()
    }

    #[test]
    fn a_batch_is_borsh_and_each_result_is_read_in_order() {
        let txs = signed(4);
        let body = json!({"data": {"results": [
            {"hash": txs[3].hash, "status": "pending"},
            {"hash": txs[1].hash, "error": {"code": "bad_nonce", "message": "m", "hint": "h"}},
        ]}, "meta": {}});
        let (base, server) = serve_once("200 OK", body.to_string());
        let target = Target { base, batch: 2 };
        let outcomes = send_request(&agent(), &target, &txs, &[3, 1]);
        assert_eq!(outcomes, [None, Some("bad_nonce".to_string())]);
        let (content_type, request) = server.join().unwrap();
        assert_eq!(content_type, "application/octet-stream");
        let sent: Vec<SignedTx> = borsh::from_slice(&request).unwrap();
        assert_eq!(sent.iter().map(|t| t.tx.nonce).collect::<Vec<_>>(), [3, 1]);
    }

    #[test]
    fn a_node_without_the_batch_route_is_named_before_anything_is_sent() {
        for status in ["404 Not Found", "405 Method Not Allowed"] {
            let (base, server) = serve_once(status, String::new());
            let err = probe_batch(&Target { base, batch: 64 }).unwrap_err();
            assert_eq!(err.code, "batch_unsupported");
            server.join().unwrap();
        }
        let body = json!({"data": {"results": []}, "meta": {}}).to_string();
        let (base, server) = serve_once("200 OK", body);
        probe_batch(&Target { base, batch: 64 }).unwrap();
        let (_, request) = server.join().unwrap();
        assert_eq!(request, [0, 0, 0, 0], "an empty borsh Vec<SignedTx>");
    }

    #[test]
    fn a_refused_batch_refuses_each_of_its_transactions() {
        let txs = signed(3);
        let body = json!({"error": {"code": "overloaded", "message": "m", "hint": "h"}});
        let (base, server) = serve_once("503 Service Unavailable", body.to_string());
        let target = Target { base, batch: 8 };
        let outcomes = send_request(&agent(), &target, &txs, &[0, 1, 2]);
        assert_eq!(outcomes, vec![Some("overloaded".to_string()); 3]);
        server.join().unwrap();
        // A short answer (fewer results than transactions) is not trusted for any of them.
        let (base, server) = serve_once("200 OK", json!({"data": {"results": []}}).to_string());
        let outcomes = send_request(&agent(), &Target { base, batch: 8 }, &txs, &[0, 1]);
        assert_eq!(outcomes, vec![Some("bad_response".to_string()); 2]);
        server.join().unwrap();
    }

    #[test]
    fn a_signer_keeps_one_lane_in_order() {
        // 10 senders over 3 lanes: k's sender is k % 10, its lane the sender's % 3.
        let l = lanes(0..40, |k| (k % 10) as usize, 3);
        assert_eq!(l.iter().map(Vec::len).sum::<usize>(), 40);
        for lane in &l {
            assert!(lane.windows(2).all(|w| w[0] < w[1]));
        }
        assert!(l[1].iter().all(|k| (k % 10) % 3 == 1));
    }
}
