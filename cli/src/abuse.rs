//! `tensorchain abuse`: a mixed abusive workload against one node's REST API, to check that the
//! API's limits hold (docs/api-limits.md). For `--duration` seconds it holds a flood of event
//! streams it never reads, reconnects with `Last-Event-ID` replays (including `u64::MAX`) and
//! repeated topics, sends made-up methods and paths, and pulls the heaviest lists and metagraphs,
//! while it samples the node's memory (`--pid`) and the chain's head. It reports what each
//! workload got back, the blocks finalized against the block time, the longest gap between
//! blocks, the node's peak memory and the number of `/metrics` series before and after.

use crate::client::{resolve_network, Client};
use crate::error::{CliError, CliResult};
use crate::output::print_json;
use crate::Global;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(clap::Args)]
pub struct AbuseArgs {
    /// Seconds to run.
    #[arg(long, default_value_t = 30)]
    duration: u64,
    /// Event streams to open and hold without reading (the node caps them).
    #[arg(long, default_value_t = 400)]
    streams: usize,
    /// Threads per request workload (replays, random methods, heavy lists).
    #[arg(long, default_value_t = 4)]
    threads: usize,
    /// The node's process id, to sample its resident memory (Linux /proc).
    #[arg(long)]
    pid: Option<u32>,
}

/// Most streams the tool opens: each is a socket of this process.
const MAX_STREAMS: usize = 5_000;
/// Most threads per workload: the tool runs beside the devnet on the same cores.
const MAX_THREADS: usize = 32;
/// Socket timeouts: a request the node does not answer in this long counts as `timeout`.
const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// Responses by workload and status ("0" when the connection failed or timed out).
type Tally = Arc<Mutex<BTreeMap<&'static str, BTreeMap<String, u64>>>>;

fn count(tally: &Tally, workload: &'static str, status: u16) {
    let mut t = tally.lock().unwrap_or_else(|e| e.into_inner());
    *t.entry(workload)
        .or_default()
        .entry(status.to_string())
        .or_default() += 1;
}

/// A tiny xorshift generator: the workload needs variety, not quality randomness.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// Sends one raw HTTP/1.1 request and returns the socket, or None if it cannot connect.
fn send(addr: SocketAddr, method: &str, target: &str, headers: &[String]) -> Option<TcpStream> {
    let mut sock = TcpStream::connect_timeout(&addr, IO_TIMEOUT).ok()?;
    sock.set_read_timeout(Some(IO_TIMEOUT)).ok()?;
    sock.set_write_timeout(Some(IO_TIMEOUT)).ok()?;
    let mut req = format!("{method} {target} HTTP/1.1\r\nhost: node\r\nconnection: close\r\n");
    for h in headers {
        req.push_str(h);
        req.push_str("\r\n");
    }
    req.push_str("\r\n");
    sock.write_all(req.as_bytes()).ok()?;
    Some(sock)
}

/// The status of a response: the first line's code, 0 if none came.
fn status_of(sock: &mut TcpStream) -> u16 {
    let mut head = [0u8; 64];
    let n = sock.read(&mut head).unwrap_or(0);
    String::from_utf8_lossy(&head[..n])
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// One request whose body is read to the end (lists) — returns the status.
fn request(addr: SocketAddr, method: &str, target: &str, headers: &[String]) -> u16 {
    let Some(mut sock) = send(addr, method, target, headers) else {
        return 0;
    };
    let status = status_of(&mut sock);
    let mut sink = Vec::new();
    let _ = sock.read_to_end(&mut sink);
    status
}

fn node_addr(network: &str) -> CliResult<SocketAddr> {
    let url = resolve_network(network);
    let host = url
        .strip_prefix("http://")
        .ok_or_else(|| {
            CliError::new(
                "bad_network",
                format!("'{url}' is not an http:// URL"),
                "abuse speaks plain HTTP to one node: --network http://127.0.0.1:8080",
            )
        })?
        .trim_end_matches('/');
    host.to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
        .ok_or_else(|| {
            CliError::new(
                "bad_network",
                format!("cannot resolve '{host}'"),
                "pass --network http://HOST:PORT",
            )
        })
}

/// Resident memory of a process in KiB, from /proc.
fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// Number of `http_requests` series and the size of the whole page.
fn metrics_shape(addr: SocketAddr) -> (usize, usize) {
    let Some(mut sock) = send(addr, "GET", "/metrics", &[]) else {
        return (0, 0);
    };
    let mut body = Vec::new();
    let _ = sock.read_to_end(&mut body);
    let text = String::from_utf8_lossy(&body);
    let series = text
        .lines()
        .filter(|l| l.starts_with("tensorchain_http_requests_total{"))
        .count();
    (series, body.len())
}

const HEAVY: [&str; 6] = [
    "/v1/subnets/1/metagraph",
    "/v1/hotkeys?limit=256",
    "/v1/blocks?limit=256",
    "/v1/validators?limit=256",
    "/v1/subnets/1/epochs?limit=256",
    "/v1/subnets/1/weights",
];

fn spawn_workers(
    addr: SocketAddr,
    threads: usize,
    stop: &Arc<AtomicBool>,
    tally: &Tally,
) -> Vec<std::thread::JoinHandle<()>> {
    let mut handles = Vec::new();
    for t in 0..threads {
        let (stop, tally) = (stop.clone(), tally.clone());
        handles.push(std::thread::spawn(move || {
            let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ (t as u64 + 1));
            while !stop.load(Ordering::Relaxed) {
                // Replays: from genesis and from u64::MAX, with repeated topics.
                let last = if rng.next() % 2 == 0 { 0 } else { u64::MAX };
                let header = format!("last-event-id: {last}");
                let target = "/v1/events?topics=block,block,tx,block,epoch,epoch";
                if let Some(mut sock) = send(addr, "GET", target, &[header]) {
                    let status = status_of(&mut sock);
                    count(&tally, "replay", status);
                    let mut buf = [0u8; 16_384];
                    let _ = sock.read(&mut buf);
                } else {
                    count(&tally, "replay", 0);
                }
                // Made-up methods and paths.
                let method = format!("X{:X}", rng.next());
                let path = format!("/v1/{:x}/{}", rng.next(), rng.next());
                count(&tally, "random", request(addr, &method, &path, &[]));
                // Heavy lists.
                let heavy = HEAVY[(rng.next() % HEAVY.len() as u64) as usize];
                count(&tally, "heavy", request(addr, "GET", heavy, &[]));
            }
        }));
    }
    handles
}

pub fn run(args: AbuseArgs, g: &Global) -> CliResult<()> {
    if args.streams > MAX_STREAMS || args.threads == 0 || args.threads > MAX_THREADS {
        return Err(CliError::new(
            "bad_argument",
            format!("--streams must be at most {MAX_STREAMS} and --threads 1..={MAX_THREADS}"),
            "try --streams 400 --threads 4",
        ));
    }
    let addr = node_addr(&g.network)?;
    let client = Client::new(&g.network);
    let chain: Value = client.get("/v1/chain")?;
    let block_time_ms = chain["block_time_ms"].as_u64().unwrap_or(1_000).max(1);
    let head = |c: &Client| -> CliResult<u64> {
        let h: Value = c.get("/v1/blocks/head")?;
        Ok(h["header"]["height"].as_u64().unwrap_or(0))
    };
    let start_height = head(&client)?;
    let (series_before, metrics_bytes_before) = metrics_shape(addr);
    let rss_before = args.pid.and_then(rss_kib);
    let tally: Tally = Arc::default();

    // The stream flood: held open, never read.
    let mut held = Vec::new();
    for _ in 0..args.streams {
        match send(addr, "GET", "/v1/events", &[]) {
            Some(mut sock) => {
                let status = status_of(&mut sock);
                count(&tally, "stream_flood", status);
                held.push(sock);
            }
            None => count(&tally, "stream_flood", 0),
        }
    }
    let stop = Arc::new(AtomicBool::new(false));
    let workers = spawn_workers(addr, args.threads, &stop, &tally);
    let started = Instant::now();
    let mut rss_peak = rss_before;
    while started.elapsed() < Duration::from_secs(args.duration) {
        std::thread::sleep(Duration::from_millis(500));
        if let Some(kib) = args.pid.and_then(rss_kib) {
            rss_peak = rss_peak.max(Some(kib));
        }
    }
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        let _ = w.join();
    }
    let elapsed = started.elapsed();
    drop(held);
    let end_height = head(&client)?;
    let (series_after, metrics_bytes_after) = metrics_shape(addr);
    let rss_after = args.pid.and_then(rss_kib);

    // The longest gap between consecutive blocks of the run, from their headers.
    let blocks = end_height.saturating_sub(start_height);
    let page: Value = client.get(&format!("/v1/blocks?limit={}", blocks.clamp(1, 256) + 1))?;
    let times: Vec<u64> = page["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|h| h["time_ms"].as_u64())
        .collect();
    let max_gap_ms = times
        .windows(2)
        .map(|w| w[0].saturating_sub(w[1]))
        .max()
        .unwrap_or(0);
    let expected = elapsed.as_millis() as u64 / block_time_ms;
    let report = json!({
        "duration_s": elapsed.as_secs_f64(),
        "responses": *tally.lock().unwrap_or_else(|e| e.into_inner()),
        "finality": {
            "blocks": blocks,
            "expected_at_block_time": expected,
            "block_time_ms": block_time_ms,
            "max_gap_ms": max_gap_ms,
        },
        "memory_kib": {"before": rss_before, "peak": rss_peak, "after": rss_after},
        "metrics": {
            "http_series_before": series_before,
            "http_series_after": series_after,
            "bytes_before": metrics_bytes_before,
            "bytes_after": metrics_bytes_after,
        },
    });
    if g.json {
        print_json(&report);
        return Ok(());
    }
    println!("ran {:.1} s against {addr}", elapsed.as_secs_f64());
    for (workload, statuses) in report["responses"].as_object().into_iter().flatten() {
        println!("  {workload:<13} {statuses}");
    }
    println!(
        "finality      {blocks} blocks (block time predicts {expected}), longest gap {max_gap_ms} ms"
    );
    let kib = |v: Option<u64>| v.map_or("-".into(), |k| format!("{} MiB", k / 1024));
    println!(
        "node memory   before {}, peak {}, after {}",
        kib(rss_before),
        kib(rss_peak),
        kib(rss_after)
    );
    println!(
        "/metrics      {series_before} → {series_after} http series, {metrics_bytes_before} → {metrics_bytes_after} bytes"
    );
    Ok(())
}
