//! Per-client bound on bad requests: a client that keeps sending requests the API rejects with a
//! 4xx is answered `rate_limited` until its window ends, so garbage cannot keep the node busy.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct BadRequestLimiter {
    window: Duration,
    max_bad: u32,
    clients: Mutex<HashMap<Option<IpAddr>, (Instant, u32)>>,
}

const MAX_TRACKED_CLIENTS: usize = 10_000;

impl BadRequestLimiter {
    pub fn new(window: Duration, max_bad: u32) -> Self {
        BadRequestLimiter {
            window,
            max_bad,
            clients: Mutex::new(HashMap::new()),
        }
    }

    /// Seconds until the client may send again, if it is over its limit.
    pub fn blocked_for(&self, client: Option<IpAddr>) -> Option<u64> {
        let clients = self.clients.lock().expect("limiter lock");
        let (start, count) = clients.get(&client)?;
        let elapsed = start.elapsed();
        (*count >= self.max_bad && elapsed < self.window)
            .then(|| (self.window - elapsed).as_secs().max(1))
    }

    pub fn record_bad(&self, client: Option<IpAddr>) {
        let mut clients = self.clients.lock().expect("limiter lock");
        if clients.len() >= MAX_TRACKED_CLIENTS {
            let window = self.window;
            clients.retain(|_, (start, _)| start.elapsed() < window);
        }
        let entry = clients.entry(client).or_insert((Instant::now(), 0));
        if entry.0.elapsed() >= self.window {
            *entry = (Instant::now(), 0);
        }
        entry.1 += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_after_the_limit_and_only_that_client() {
        let l = BadRequestLimiter::new(Duration::from_secs(60), 3);
        let a = Some("127.0.0.1".parse().unwrap());
        let b = Some("127.0.0.2".parse().unwrap());
        for _ in 0..2 {
            l.record_bad(a);
        }
        assert_eq!(l.blocked_for(a), None);
        l.record_bad(a);
        assert!(l.blocked_for(a).is_some());
        assert_eq!(l.blocked_for(b), None);
    }
}
