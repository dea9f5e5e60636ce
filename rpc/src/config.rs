//! What the operator sets about the API's limits (`tensorchain node run --rpc-*` flags). The
//! defaults suit a node on the internet; loopback clients are exempt from the per-client and
//! global rate limits unless `limit_loopback` is set, so a devnet, its demo and the `bench` load
//! tool run unthrottled on 127.0.0.1.

use std::time::Duration;

#[derive(Debug, Clone)]
pub struct RpcConfig {
    /// Cost units one client (an IPv4 address or an IPv6 /64) may spend per second, and its burst;
    /// a plain read costs 1, heavy routes more (see `limits::route_cost`). 0 turns the limit off.
    pub rate_limit_per_client: u32,
    /// Cost units all rate-limited clients together may spend per second. 0 turns it off.
    pub rate_limit_global: u32,
    /// Rate-limit loopback clients too (tests of the limits, a node behind a local proxy).
    pub limit_loopback: bool,
    /// Concurrent event streams (`/v1/events`) the node serves in all.
    pub max_streams: usize,
    /// Concurrent event streams one client may hold; loopback clients are exempt unless
    /// `limit_loopback` is set.
    pub max_streams_per_client: usize,
    /// Origins browsers may call the API from: `[]` none (no CORS headers), `["*"]` any.
    pub cors_origins: Vec<String>,
    /// Longest a request may take before it is answered `request_timeout` (event streams are
    /// bounded by this only until their first byte).
    pub request_timeout: Duration,
}

/// A default client budget: a wallet or explorer polling a few routes a second stays far below it,
/// a script pulling a metagraph (cost 10) every 200 ms fits.
pub const DEFAULT_RATE_LIMIT_PER_CLIENT: u32 = 100;
/// What the node serves to all rate-limited clients together: measured, one debug-built devnet
/// validator serves thousands of light reads a second without finality moving (docs/api-limits.md).
pub const DEFAULT_RATE_LIMIT_GLOBAL: u32 = 2_000;
/// Each stream costs a broadcast receiver and a connection; 256 covers explorers and wallets.
pub const DEFAULT_MAX_STREAMS: usize = 256;
/// A client needs one stream per topic set at most; 8 leaves room for tabs and reconnects.
pub const DEFAULT_MAX_STREAMS_PER_CLIENT: usize = 8;
/// The slowest legitimate request (a full metagraph of 4096 neurons on a busy node) takes well
/// under a second; ten seconds means something is stuck.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

impl Default for RpcConfig {
    fn default() -> Self {
        RpcConfig {
            rate_limit_per_client: DEFAULT_RATE_LIMIT_PER_CLIENT,
            rate_limit_global: DEFAULT_RATE_LIMIT_GLOBAL,
            limit_loopback: false,
            max_streams: DEFAULT_MAX_STREAMS,
            max_streams_per_client: DEFAULT_MAX_STREAMS_PER_CLIENT,
            cors_origins: Vec::new(),
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
        }
    }
}
