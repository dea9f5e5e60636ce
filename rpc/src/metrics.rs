//! Prometheus metrics: chain gauges sampled at scrape time, block intervals observed by the node,
//! and HTTP requests observed by the API middleware.

use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use std::sync::Mutex;

/// Labels of the HTTP metrics. Every value comes from a fixed set, so the number of series is
/// bounded whatever clients send: `route` is a route template of the router (or `unmatched`),
/// `method` one of `METHODS` (or `other`), `status` a class such as `2xx`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HttpLabels {
    pub route: String,
    pub method: &'static str,
    pub status: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabel {
    route: String,
}

/// Methods recorded by name; any other string a client sends is recorded as `other`.
const METHODS: [&str; 9] = [
    "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE",
];

/// The method label: the method's name if it is a standard one, else `other`.
pub fn method_label(method: &axum::http::Method) -> &'static str {
    METHODS
        .iter()
        .find(|m| **m == method.as_str())
        .copied()
        .unwrap_or("other")
}

/// The status label: its class (`1xx` … `5xx`).
pub fn status_label(status: axum::http::StatusCode) -> &'static str {
    match status.as_u16() / 100 {
        1 => "1xx",
        2 => "2xx",
        3 => "3xx",
        4 => "4xx",
        _ => "5xx",
    }
}

pub struct Metrics {
    registry: Mutex<Registry>,
    pub best_height: Gauge,
    pub finalized_height: Gauge,
    pub mempool_size: Gauge,
    pub total_issuance: Gauge,
    pub peers: Gauge,
    /// Rounds a decided height needed beyond the first, summed: grows when proposers fail.
    pub consensus_extra_rounds: Counter,
    block_interval: Histogram,
    http_requests: Family<HttpLabels, Counter>,
    http_latency: Family<RouteLabel, Histogram>,
    /// Event streams open now.
    pub streams_open: Gauge,
    /// Requests refused by a rate limit, by scope (`client` or `global`).
    rate_limited: Family<ScopeLabel, Counter>,
    /// Gossiped transaction batches by the node's verdict (`accept`, `ignore`, `reject`).
    tx_gossip_batches: Family<VerdictLabel, Counter>,
    /// Gossiped transactions skipped because this node had seen them (never verified again).
    pub tx_gossip_duplicates: Counter,
    /// Transaction gossip dropped at a full queue, by stage (the network task counts them).
    tx_gossip_dropped: Family<StageLabel, Counter>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct VerdictLabel {
    verdict: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StageLabel {
    stage: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ScopeLabel {
    scope: &'static str,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("tensorchain");
        let m = Metrics {
            registry: Mutex::new(Registry::default()),
            best_height: Gauge::default(),
            finalized_height: Gauge::default(),
            mempool_size: Gauge::default(),
            total_issuance: Gauge::default(),
            peers: Gauge::default(),
            consensus_extra_rounds: Counter::default(),
            block_interval: Histogram::new(exponential_buckets(0.05, 2.0, 10)),
            http_requests: Family::default(),
            http_latency: Family::new_with_constructor(|| {
                Histogram::new(exponential_buckets(0.0005, 4.0, 8))
            }),
            streams_open: Gauge::default(),
            rate_limited: Family::default(),
            tx_gossip_batches: Family::default(),
            tx_gossip_duplicates: Counter::default(),
            tx_gossip_dropped: Family::default(),
        };
        registry.register(
            "block_height_best",
            "Height of the best block",
            m.best_height.clone(),
        );
        registry.register(
            "block_height_finalized",
            "Height of the last finalized block",
            m.finalized_height.clone(),
        );
        registry.register(
            "mempool_size",
            "Transactions waiting in the mempool",
            m.mempool_size.clone(),
        );
        registry.register(
            "total_issuance_rao",
            "Total issuance in rao",
            m.total_issuance.clone(),
        );
        registry.register("peers", "Connected peers", m.peers.clone());
        registry.register(
            "consensus_extra_rounds",
            "Rounds beyond the first that decided heights needed",
            m.consensus_extra_rounds.clone(),
        );
        registry.register(
            "block_interval_seconds",
            "Time between consecutive blocks",
            m.block_interval.clone(),
        );
        registry.register(
            "http_requests",
            "HTTP requests by route, method and status",
            m.http_requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency by route",
            m.http_latency.clone(),
        );
        registry.register(
            "rpc_streams_open",
            "Event streams open now",
            m.streams_open.clone(),
        );
        registry.register(
            "rpc_rate_limited",
            "Requests refused by a rate limit, by scope",
            m.rate_limited.clone(),
        );
        registry.register(
            "tx_gossip_batches",
            "Gossiped transaction batches by this node's verdict",
            m.tx_gossip_batches.clone(),
        );
        registry.register(
            "tx_gossip_duplicates",
            "Gossiped transactions skipped as already seen, before any check",
            m.tx_gossip_duplicates.clone(),
        );
        registry.register(
            "tx_gossip_dropped",
            "Transaction gossip dropped at a full queue, by stage",
            m.tx_gossip_dropped.clone(),
        );
        *m.registry.lock().expect("metrics lock") = registry;
        m
    }

    pub fn observe_block_interval(&self, seconds: f64) {
        self.block_interval.observe(seconds);
    }

    pub fn observe_http(&self, labels: HttpLabels, seconds: f64) {
        self.http_latency
            .get_or_create(&RouteLabel {
                route: labels.route.clone(),
            })
            .observe(seconds);
        self.http_requests.get_or_create(&labels).inc();
    }

    pub fn observe_rate_limited(&self, scope: &'static str) {
        self.rate_limited.get_or_create(&ScopeLabel { scope }).inc();
    }

    /// Counts a gossiped batch by verdict: `accept`, `ignore` or `reject`.
    pub fn observe_tx_batch(&self, verdict: &'static str) {
        self.tx_gossip_batches
            .get_or_create(&VerdictLabel { verdict })
            .inc();
    }

    /// The network task's drop counts, copied at scrape time (they only grow).
    pub fn set_tx_gossip_dropped(&self, drops: &crate::GossipDrops) {
        for (stage, n) in [
            ("unbatched", drops.unbatched),
            ("outbound", drops.outbound),
            ("inbound", drops.inbound),
        ] {
            self.tx_gossip_dropped
                .get_or_create(&StageLabel { stage })
                .inner()
                .store(n, std::sync::atomic::Ordering::Relaxed);
        }
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        encode(&mut out, &self.registry.lock().expect("metrics lock"))
            .expect("writing to a String cannot fail");
        out
    }
}
