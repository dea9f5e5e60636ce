//! What a step sends, decided and signed before the clock starts: transaction `k` of a step at
//! `rate` is due `k / rate` seconds after the start, comes from sender `k mod senders` with that
//! sender's next nonce, and pays 1 rao to one of `RECIPIENTS` fixed addresses picked by a
//! hash of `k`, so state writes spread over many accounts as real traffic does.

use super::{progress, progress_done};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tensorchain_primitives::{AccountId, Call, Hash, Keypair, SigningDomain, Tx};

/// Recipient accounts a run draws from: enough that the state tree's reads and writes are
/// spread out (they are never keys anyone signs with: any 32 bytes can receive).
pub const RECIPIENTS: u64 = 100_000;
/// What each benchmark transfer moves: the least a transfer may.
pub const AMOUNT: u64 = 1;

/// One signed transaction as the node receives it: its borsh bytes and its hash.
pub struct Signed {
    pub bytes: Vec<u8>,
    pub hash: Hash,
}

/// Recipient `i`: blake3 of a fixed domain and `i`, the same on every run and machine.
pub fn recipient(i: u64) -> AccountId {
    AccountId(*Hash::digest_parts(b"tensorchain/bench/recipient/", &[&i.to_le_bytes()]).as_bytes())
}

/// A well-mixed index of `k` (splitmix64's finalizer), so consecutive transactions write far
/// apart in state.
fn mix(k: u64) -> u64 {
    let mut z = k.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// When transaction `k` of a step at `rate` per second is due, after the step's start.
pub fn intended(k: u64, rate: u64) -> Duration {
    Duration::from_nanos((k as u128 * 1_000_000_000 / rate as u128) as u64)
}

/// Everything a transfer is signed with besides its own fields.
pub struct Signing<'a> {
    pub domain: &'a SigningDomain,
    pub fee: u64,
}

impl Signing<'_> {
    pub fn transfer(&self, key: &Keypair, nonce: u64, to: AccountId, amount: u64) -> Signed {
        let stx = Tx {
            chain_id: self.domain.chain_id.clone(),
            signer: key.account(),
            nonce,
            fee: self.fee,
            call: Call::Transfer { to, amount },
        }
        .sign(key, self.domain);
        let bytes = stx.to_bytes();
        Signed {
            hash: Hash::digest(&bytes),
            bytes,
        }
    }
}

/// Signs `count` transactions, `build(i)` each, on every core, drawing a progress line; returns
/// them in order of `i`.
pub fn sign_all(label: &str, count: usize, build: impl Fn(usize) -> Signed + Sync) -> Vec<Signed> {
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(count.max(1));
    let done = AtomicUsize::new(0);
    let started = Instant::now();
    let chunks: Vec<Vec<Signed>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let (build, done) = (&build, &done);
                scope.spawn(move || {
                    let range = count * t / threads..count * (t + 1) / threads;
                    let mut out = Vec::with_capacity(range.len());
                    for i in range {
                        out.push(build(i));
                        if i % 1024 == 0 {
                            done.fetch_add(1024, Ordering::Relaxed);
                        }
                    }
                    out
                })
            })
            .collect();
        while !handles.iter().all(|h| h.is_finished()) {
            let n = done.load(Ordering::Relaxed).min(count);
            progress(&format!("{label}: signed {n}/{count}"));
            std::thread::sleep(Duration::from_millis(200));
        }
        handles
            .into_iter()
            .map(|h| h.join().expect("a signing thread panicked"))
            .collect()
    });
    progress_done();
    eprintln!(
        "{label}: signed {count} transactions in {:.1} s on {threads} threads",
        started.elapsed().as_secs_f64()
    );
    chunks.into_iter().flatten().collect()
}

/// The transactions of one step at `rate`: `count` transfers, `k`'s from sender `k mod n` at
/// that sender's nonce `nonces[s] + k / n`.
pub fn step(
    signing: &Signing<'_>,
    senders: &[Keypair],
    nonces: &[u64],
    rate: u64,
    count: u64,
    salt: u64,
) -> Vec<Signed> {
    let n = senders.len() as u64;
    sign_all(&format!("{rate}/s"), count as usize, |i| {
        let k = i as u64;
        let s = (k % n) as usize;
        let to = recipient(mix(k ^ salt) % RECIPIENTS);
        signing.transfer(&senders[s], nonces[s] + k / n, to, AMOUNT)
    })
}

/// How many of a step's `count` transactions sender `s` of `n` sends.
pub fn txs_of_sender(count: u64, n: u64, s: u64) -> u64 {
    count / n + u64::from(s < count % n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_is_exact_and_counts_add_up() {
        assert_eq!(intended(0, 1000), Duration::ZERO);
        assert_eq!(intended(1500, 1000), Duration::from_millis(1500));
        assert_eq!(intended(1, 3), Duration::from_nanos(333_333_333));
        let total: u64 = (0..7).map(|s| txs_of_sender(100, 7, s)).sum();
        assert_eq!(total, 100);
        assert_eq!(recipient(5), recipient(5));
        assert_ne!(recipient(5), recipient(6));
    }

    #[test]
    fn signing_keeps_order_and_nonces() {
        let domain = SigningDomain::new("tensorchain-devnet", Hash::digest(b"g"));
        let signing = Signing {
            domain: &domain,
            fee: 7,
        };
        let senders: Vec<Keypair> = (0..3).map(|i| Keypair::dev(&format!("s{i}"))).collect();
        let txs = step(&signing, &senders, &[10, 0, 5], 100, 8, 1);
        assert_eq!(txs.len(), 8);
        let decoded: Vec<tensorchain_primitives::SignedTx> = txs
            .iter()
            .map(|t| borsh::from_slice(&t.bytes).unwrap())
            .collect();
        // k = 0, 3, 6 are sender 0's, nonces 10, 11, 12; k = 5 is sender 2's second.
        assert_eq!(decoded[0].tx.nonce, 10);
        assert_eq!(decoded[3].tx.nonce, 11);
        assert_eq!(decoded[6].tx.nonce, 12);
        assert_eq!(decoded[5].tx.signer, senders[2].account());
        assert_eq!(decoded[5].tx.nonce, 6);
        for (t, d) in txs.iter().zip(&decoded) {
            assert_eq!(t.hash, d.hash());
            assert!(d.verify_signature(&domain).is_ok());
        }
    }
}
