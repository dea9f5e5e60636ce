//! The API's rate limits and stream slots. Rate limits use `governor` (GCRA): one limiter keyed
//! by client and one for all clients together, each request charged the cost of its route, so a
//! client rotating addresses still meets the global limit and a heavy route cannot be called as
//! often as a cheap one. Stream slots bound the event streams open at once, in all and per client.

use crate::config::RpcConfig;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// What a route costs against the limits: heavy routes read many entries (a whole metagraph, a
/// page of blocks, a replay of events) and cost this many light reads.
pub const HEAVY_COST: u32 = 10;

/// The cost of a request to `route` (the matched route template).
pub fn route_cost(route: &str) -> u32 {
    match route {
        "/v1/subnets/{netuid}/metagraph"
        | "/v1/subnets/{netuid}/weights"
        | "/v1/subnets/{netuid}/bonds"
        | "/v1/subnets/{netuid}/epochs"
        | "/v1/events"
        | "/v1/validators"
        | "/v1/hotkeys"
        | "/v1/hotkeys/{hk}/nominators"
        | "/v1/accounts/{addr}/txs"
        | "/v1/blocks"
        | "/v1/root"
        | "/v1/txs/simulate"
        | "/v1/txs/batch"
        | "/openapi.json" => HEAVY_COST,
        _ => 1,
    }
}

/// Requests between sweeps of idle clients out of the keyed limiter. A client is only kept while
/// its budget is not full again (about a second), so after a sweep the map holds the clients of
/// the last second; between sweeps it grows by at most this many: memory stays bounded however
/// many addresses a flood rotates through.
const SWEEP_EVERY_REQUESTS: u64 = 4_096;

/// Why a request was refused, and when to come back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimited {
    /// `client` (this client's budget) or `global` (all clients' budget).
    pub scope: &'static str,
    pub retry_after_secs: u64,
}

pub struct RateLimits {
    per_client: Option<(DefaultKeyedRateLimiter<IpAddr>, NonZeroU32)>,
    global: Option<(DefaultDirectRateLimiter, NonZeroU32)>,
    limit_loopback: bool,
    requests: AtomicU64,
}

fn quota(per_second: u32) -> Option<(Quota, NonZeroU32)> {
    // The burst is one second's budget: a client may spend it at once, then waits for refills.
    let rate = NonZeroU32::new(per_second)?;
    Some((Quota::per_second(rate).allow_burst(rate), rate))
}

/// The key a client is limited by: its IPv4 address, or its IPv6 /64 (one subscriber's usual
/// allocation, so rotating through the addresses of one /64 does not multiply the budget).
pub fn client_key(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => {
            let bits = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(Ipv6Addr::from(bits))
        }
        v4 => v4,
    }
}

impl RateLimits {
    pub fn new(config: &RpcConfig) -> RateLimits {
        RateLimits {
            per_client: quota(config.rate_limit_per_client)
                .map(|(q, burst)| (RateLimiter::keyed(q), burst)),
            global: quota(config.rate_limit_global)
                .map(|(q, burst)| (RateLimiter::direct(q), burst)),
            limit_loopback: config.limit_loopback,
            requests: AtomicU64::new(0),
        }
    }

    /// Whether `client` is subject to per-client limits (rates and stream slots).
    pub fn limits(&self, client: IpAddr) -> bool {
        self.limit_loopback || !client.to_canonical().is_loopback()
    }

    /// Charges `cost` to the client's budget, then to the global one (so one client over its
    /// budget does not use up everyone's).
    pub fn check(&self, client: IpAddr, cost: u32) -> Result<(), RateLimited> {
        if !self.limits(client) {
            return Ok(());
        }
        if let Some((limiter, burst)) = &self.per_client {
            if self.requests.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY_REQUESTS == 0 {
                limiter.retain_recent();
                limiter.shrink_to_fit();
            }
            let n = charge(cost, *burst);
            if let Ok(Err(not_until)) = limiter.check_key_n(&client_key(client), n) {
                return Err(refused("client", not_until.wait_time_from(now())));
            }
        }
        if let Some((limiter, burst)) = &self.global {
            if let Ok(Err(not_until)) = limiter.check_n(charge(cost, *burst)) {
                return Err(refused("global", not_until.wait_time_from(now())));
            }
        }
        Ok(())
    }

    /// Clients the keyed limiter currently tracks (tests assert it stays bounded).
    pub fn tracked_clients(&self) -> usize {
        self.per_client.as_ref().map_or(0, |(l, _)| l.len())
    }
}

/// A cost above the burst could never pass; such a request costs the whole burst instead.
fn charge(cost: u32, burst: NonZeroU32) -> NonZeroU32 {
    NonZeroU32::new(cost.min(burst.get())).unwrap_or(NonZeroU32::MIN)
}

fn now() -> governor::clock::QuantaInstant {
    DefaultClock::default().now()
}

fn refused(scope: &'static str, wait: std::time::Duration) -> RateLimited {
    // Retry-After is whole seconds; round up so a client that obeys it is admitted.
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    RateLimited {
        scope,
        retry_after_secs: secs.max(1),
    }
}

/// Bounds on concurrent event streams. The per-client map holds only clients with a live stream,
/// so it is bounded by `max_total`.
pub struct StreamSlots {
    max_total: usize,
    max_per_client: usize,
    open: Mutex<OpenStreams>,
}

#[derive(Default)]
struct OpenStreams {
    total: usize,
    per_client: HashMap<IpAddr, usize>,
}

/// Which bound refused a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TooManyStreams {
    Total(usize),
    PerClient(usize),
}

/// A held stream slot; dropping it (the stream ends or the client goes away) frees the slot.
pub struct StreamPermit {
    slots: Arc<StreamSlots>,
    client: Option<IpAddr>,
}

impl StreamSlots {
    pub fn new(max_total: usize, max_per_client: usize) -> StreamSlots {
        StreamSlots {
            max_total,
            max_per_client,
            open: Mutex::new(OpenStreams::default()),
        }
    }

    /// A slot for `client`, counted against its own bound when `per_client` (else only the total).
    pub fn acquire(
        self: &Arc<Self>,
        client: IpAddr,
        per_client: bool,
    ) -> Result<StreamPermit, TooManyStreams> {
        let mut open = self.open.lock().expect("stream slots lock");
        if open.total >= self.max_total {
            return Err(TooManyStreams::Total(self.max_total));
        }
        let client = per_client.then(|| client_key(client));
        if let Some(c) = client {
            let held = open.per_client.entry(c).or_default();
            if *held >= self.max_per_client {
                return Err(TooManyStreams::PerClient(self.max_per_client));
            }
            *held += 1;
        }
        open.total += 1;
        Ok(StreamPermit {
            slots: self.clone(),
            client,
        })
    }

    /// Streams open now.
    pub fn open(&self) -> usize {
        self.open.lock().expect("stream slots lock").total
    }
}

impl Drop for StreamPermit {
    fn drop(&mut self) {
        let mut open = self.slots.open.lock().expect("stream slots lock");
        open.total = open.total.saturating_sub(1);
        if let Some(c) = self.client {
            if let Some(held) = open.per_client.get_mut(&c) {
                *held = held.saturating_sub(1);
                if *held == 0 {
                    open.per_client.remove(&c);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(per_client: u32, global: u32) -> RpcConfig {
        RpcConfig {
            rate_limit_per_client: per_client,
            rate_limit_global: global,
            limit_loopback: true,
            ..RpcConfig::default()
        }
    }

    #[test]
    fn a_client_over_its_budget_is_refused_and_others_are_not() {
        let l = RateLimits::new(&config(20, 0));
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        assert_eq!(l.check(a, HEAVY_COST), Ok(()));
        assert_eq!(l.check(a, HEAVY_COST), Ok(()));
        let refused = l.check(a, 1).unwrap_err();
        assert_eq!(refused.scope, "client");
        assert!(refused.retry_after_secs >= 1);
        assert_eq!(l.check(b, HEAVY_COST), Ok(()));
    }

    #[test]
    fn rotating_addresses_meet_the_global_limit() {
        let l = RateLimits::new(&config(1_000, 50));
        let refused = (0..100u32)
            .map(|i| l.check(IpAddr::from(i.to_be_bytes()), 1))
            .filter(|r| r.is_err())
            .count();
        // 50 fit the global burst; a refill during the loop may admit one more.
        assert!((49..=50).contains(&refused), "{refused}");
    }

    #[test]
    fn one_ipv6_slash_64_is_one_client() {
        let a: IpAddr = "2001:db8::1".parse().unwrap();
        let b: IpAddr = "2001:db8::ffff:1".parse().unwrap();
        assert_eq!(client_key(a), client_key(b));
        let mapped: IpAddr = "::ffff:10.0.0.1".parse().unwrap();
        assert_eq!(client_key(mapped), "10.0.0.1".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn loopback_is_exempt_unless_asked() {
        let mut c = config(1, 1);
        c.limit_loopback = false;
        let l = RateLimits::new(&c);
        let lo: IpAddr = "127.0.0.1".parse().unwrap();
        assert!((0..100).all(|_| l.check(lo, HEAVY_COST).is_ok()));
    }

    #[test]
    fn stream_slots_bound_total_and_per_client_and_free_on_drop() {
        let slots = Arc::new(StreamSlots::new(3, 2));
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let p1 = slots.acquire(a, true).unwrap();
        let _p2 = slots.acquire(a, true).unwrap();
        assert_eq!(
            slots.acquire(a, true).err(),
            Some(TooManyStreams::PerClient(2))
        );
        let _p3 = slots.acquire(b, true).unwrap();
        assert_eq!(slots.acquire(b, true).err(), Some(TooManyStreams::Total(3)));
        drop(p1);
        assert_eq!(slots.open(), 2);
        assert!(slots.acquire(a, true).is_ok());
    }
}
