//! Transactions travel in batches: one gossip message carries up to `MAX_BATCH_TXS` encoded
//! transactions (at most `MAX_BATCH_BYTES`), flushed `FLUSH_AFTER` after the first one queued,
//! so a node sending thousands per second publishes tens of messages, not thousands. Nothing
//! here decodes or checks a transaction: the node does (its intake task), and reports the batch.
//!
//! The wire format is the borsh encoding of `Vec<Vec<u8>>` (a u32 count, then each transaction
//! as a u32 length and its bytes), read here without copying: the receiver hashes each
//! transaction's bytes to drop the ones it has seen before it decodes or verifies anything.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tensorchain_primitives::MAX_TX_BYTES;
use thiserror::Error;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

/// Transactions in one batch: enough for 20k/s in 40 messages a second.
pub const MAX_BATCH_TXS: usize = 512;
/// Bytes of one batch, and the transaction topic's gossipsub message limit: seven transactions
/// of the largest size fit, and a peer cannot make a node buffer more per message.
pub const MAX_BATCH_BYTES: usize = 512 * 1024;
/// How long the first transaction of a batch waits for company.
pub const FLUSH_AFTER: Duration = Duration::from_millis(10);
/// Encoded transactions waiting to be batched (each already sits in the local mempool).
pub(crate) const PUBLISH_QUEUE: usize = 8_192;

const _: () = assert!(MAX_BATCH_BYTES >= 7 * (MAX_TX_BYTES + 4) + 4);

/// Why a batch does not decode. Any of these is a peer's fault: honest nodes never send them.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum BatchError {
    #[error("batch of {0} bytes exceeds the limit of {MAX_BATCH_BYTES}")]
    TooLarge(usize),
    #[error("batch of {0} transactions exceeds the limit of {MAX_BATCH_TXS}")]
    TooManyTxs(usize),
    #[error("transaction {index} has {bytes} bytes, over the limit of {MAX_TX_BYTES}")]
    TxTooLarge { index: usize, bytes: usize },
    #[error("empty batch")]
    Empty,
    #[error("malformed batch: {0}")]
    Malformed(&'static str),
}

impl BatchError {
    /// Stable snake_case code, for logs and metrics.
    pub fn code(&self) -> &'static str {
        match self {
            BatchError::TooLarge(_) => "batch_too_large",
            BatchError::TooManyTxs(_) => "batch_too_many_txs",
            BatchError::TxTooLarge { .. } => "batch_tx_too_large",
            BatchError::Empty => "batch_empty",
            BatchError::Malformed(_) => "batch_malformed",
        }
    }
}

/// One batch's bytes from encoded transactions.
pub fn encode_batch<T: AsRef<[u8]>>(txs: &[T]) -> Vec<u8> {
    let len = 4 + txs.iter().map(|t| 4 + t.as_ref().len()).sum::<usize>();
    let mut out = Vec::with_capacity(len);
    out.extend_from_slice(&(txs.len() as u32).to_le_bytes());
    for t in txs {
        out.extend_from_slice(&(t.as_ref().len() as u32).to_le_bytes());
        out.extend_from_slice(t.as_ref());
    }
    out
}

/// The encoded transactions of a batch, as slices of it. Every limit is checked before the
/// list is allocated, and the batch must end exactly where its last transaction does.
pub fn decode_batch(data: &[u8]) -> Result<Vec<&[u8]>, BatchError> {
    if data.len() > MAX_BATCH_BYTES {
        return Err(BatchError::TooLarge(data.len()));
    }
    let (count, mut rest) = split_u32(data).ok_or(BatchError::Malformed("no count"))?;
    let count = count as usize;
    if count == 0 {
        return Err(BatchError::Empty);
    }
    if count > MAX_BATCH_TXS {
        return Err(BatchError::TooManyTxs(count));
    }
    let mut txs = Vec::with_capacity(count);
    for index in 0..count {
        let (len, tail) = split_u32(rest).ok_or(BatchError::Malformed("truncated length"))?;
        let len = len as usize;
        if len > MAX_TX_BYTES {
            return Err(BatchError::TxTooLarge { index, bytes: len });
        }
        if tail.len() < len {
            return Err(BatchError::Malformed("truncated transaction"));
        }
        let (tx, tail) = tail.split_at(len);
        txs.push(tx);
        rest = tail;
    }
    if !rest.is_empty() {
        return Err(BatchError::Malformed("trailing bytes"));
    }
    Ok(txs)
}

fn split_u32(data: &[u8]) -> Option<(u32, &[u8])> {
    let (head, tail) = data.split_first_chunk::<4>()?;
    Some((u32::from_le_bytes(*head), tail))
}

/// Collects encoded transactions into batches: full ones at once, the rest `FLUSH_AFTER` after
/// their first transaction arrived.
#[derive(Default)]
pub(crate) struct Batcher {
    txs: Vec<Vec<u8>>,
    /// The encoded size of the batch so far.
    bytes: usize,
    due: Option<Instant>,
}

impl Batcher {
    /// Adds a transaction; returns the batch it completes or pushes out, if any.
    pub fn push(&mut self, tx: Vec<u8>, now: Instant) -> Option<Vec<u8>> {
        let size = 4 + tx.len();
        let full = if !self.txs.is_empty() && self.bytes + size > MAX_BATCH_BYTES {
            self.flush()
        } else {
            None
        };
        if self.txs.is_empty() {
            self.bytes = 4;
            self.due = Some(now + FLUSH_AFTER);
        }
        self.bytes += size;
        self.txs.push(tx);
        if self.txs.len() >= MAX_BATCH_TXS {
            // At most one batch leaves per push: `full` was flushed before this one started.
            debug_assert!(full.is_none());
            return self.flush();
        }
        full
    }

    /// When the pending batch must go out.
    pub fn due(&self) -> Option<Instant> {
        self.due
    }

    pub fn flush(&mut self) -> Option<Vec<u8>> {
        self.due = None;
        if self.txs.is_empty() {
            return None;
        }
        let batch = encode_batch(&self.txs);
        self.txs.clear();
        self.bytes = 0;
        Some(batch)
    }
}

/// Transaction gossip counters, shared by the network task and the handle.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    batches_published: AtomicU64,
    txs_published: AtomicU64,
    dropped_unbatched: AtomicU64,
    dropped_outbound_batches: AtomicU64,
    dropped_inbound_batches: AtomicU64,
}

/// What transaction gossip did since the node started (`NetworkHandle::tx_gossip_stats`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TxGossipStats {
    /// Batches handed to gossipsub, and the transactions in them.
    pub batches_published: u64,
    pub txs_published: u64,
    /// Transactions dropped before batching: the node queued them faster than batches left.
    pub dropped_unbatched: u64,
    /// Batches dropped because the network task's command queue was full.
    pub dropped_outbound_batches: u64,
    /// Received batches dropped (reported `Ignore`) because the intake queue was full.
    pub dropped_inbound_batches: u64,
}

impl Counters {
    pub fn snapshot(&self) -> TxGossipStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        TxGossipStats {
            batches_published: get(&self.batches_published),
            txs_published: get(&self.txs_published),
            dropped_unbatched: get(&self.dropped_unbatched),
            dropped_outbound_batches: get(&self.dropped_outbound_batches),
            dropped_inbound_batches: get(&self.dropped_inbound_batches),
        }
    }

    pub fn dropped_unbatched(&self) {
        note_drop(
            &self.dropped_unbatched,
            "a transaction was not gossiped: batch queue full",
        );
    }

    pub fn dropped_inbound(&self) {
        note_drop(
            &self.dropped_inbound_batches,
            "a received transaction batch was dropped: intake queue full",
        );
    }
}

/// Counts a drop and warns on the first and every 1,000th after it: visible, never a flood.
fn note_drop(counter: &AtomicU64, what: &'static str) {
    let n = counter.fetch_add(1, Ordering::Relaxed) + 1;
    // (`is_multiple_of` is newer than the workspace's rust-version, 1.85.)
    if n == 1 || n % 1_000 == 0 {
        tracing::warn!(dropped = n, "{what}");
    }
}

/// The batching task: encoded transactions in, batches out through `publish` (false when the
/// network task's queue is full: the batch is dropped and counted). Ends on shutdown or when
/// every sender is gone.
pub(crate) async fn run_batcher(
    mut txs: mpsc::Receiver<Vec<u8>>,
    publish: impl Fn(Vec<u8>) -> bool,
    counters: Arc<Counters>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut batcher = Batcher::default();
    let send = |batch: Vec<u8>| {
        let n = batch_len(&batch);
        if publish(batch) {
            counters.batches_published.fetch_add(1, Ordering::Relaxed);
            counters.txs_published.fetch_add(n, Ordering::Relaxed);
        } else {
            note_drop(
                &counters.dropped_outbound_batches,
                "a transaction batch was not gossiped: network queue full",
            );
        }
    };
    loop {
        let due = batcher.due();
        tokio::select! {
            biased;
            _ = shutdown.wait_for(|s| *s) => return,
            _ = async { tokio::time::sleep_until(due.expect("due")).await }, if due.is_some() => {
                if let Some(batch) = batcher.flush() {
                    send(batch);
                }
            }
            tx = txs.recv() => match tx {
                Some(tx) => {
                    if let Some(batch) = batcher.push(tx, Instant::now()) {
                        send(batch);
                    }
                }
                None => return,
            },
        }
    }
}

/// The transaction count a batch starts with (one this node encoded).
fn batch_len(batch: &[u8]) -> u64 {
    split_u32(batch).map_or(0, |(n, _)| n as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_round_trips_without_copies() {
        let txs = vec![b"one".to_vec(), vec![], vec![7u8; 1000]];
        let bytes = encode_batch(&txs);
        assert_eq!(bytes, borsh::to_vec(&txs).unwrap(), "borsh Vec<Vec<u8>>");
        let back = decode_batch(&bytes).unwrap();
        assert_eq!(back, txs.iter().map(|t| t.as_slice()).collect::<Vec<_>>());
        assert!(std::ptr::eq(
            back[2].as_ptr(),
            bytes[bytes.len() - 1000..].as_ptr()
        ));
    }

    #[test]
    fn malformed_batches_are_named() {
        let ok = encode_batch(&[b"abc".to_vec()]);
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (vec![], "batch_malformed"),
            (vec![1, 0], "batch_malformed"),
            (encode_batch::<Vec<u8>>(&[]), "batch_empty"),
            (ok[..ok.len() - 1].to_vec(), "batch_malformed"),
            ([ok.clone(), vec![0]].concat(), "batch_malformed"),
            (u32::MAX.to_le_bytes().to_vec(), "batch_too_many_txs"),
            (
                [1u32.to_le_bytes(), (MAX_TX_BYTES as u32 + 1).to_le_bytes()].concat(),
                "batch_tx_too_large",
            ),
            (vec![0; MAX_BATCH_BYTES + 1], "batch_too_large"),
        ];
        for (bytes, code) in cases {
            assert_eq!(decode_batch(&bytes).unwrap_err().code(), code, "{bytes:?}");
        }
    }

    #[test]
    fn batches_close_by_count_by_bytes_and_by_time() {
        let now = Instant::now();
        let mut b = Batcher::default();
        let mut out = vec![];
        for _ in 0..MAX_BATCH_TXS * 2 + 3 {
            out.extend(b.push(vec![1; 100], now));
        }
        assert_eq!(out.len(), 2);
        assert!(out
            .iter()
            .all(|x| decode_batch(x).unwrap().len() == MAX_BATCH_TXS));
        assert_eq!(b.due(), Some(now + FLUSH_AFTER), "the rest waits");
        assert_eq!(decode_batch(&b.flush().unwrap()).unwrap().len(), 3);
        assert_eq!(b.due(), None);
        assert!(b.flush().is_none());

        // Large transactions close a batch by bytes, each batch under the limit.
        let mut out = vec![];
        for _ in 0..20 {
            out.extend(b.push(vec![2; MAX_TX_BYTES], now));
        }
        out.extend(b.flush());
        assert!(out.iter().all(|x| x.len() <= MAX_BATCH_BYTES));
        let total: usize = out.iter().map(|x| decode_batch(x).unwrap().len()).sum();
        assert_eq!(total, 20);
        assert_eq!(out.len(), 3, "7 + 7 + 6 of 64 KiB in 512 KiB");
    }
}
