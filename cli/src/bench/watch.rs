//! Finalization times from the node's event stream (`GET /v1/events?topics=finalized`): one
//! thread reads it and stamps each block's event the moment it is complete, so a busy main
//! thread never delays a measurement. A dropped or broken stream is reopened with
//! `Last-Event-ID`, so no block is missed (replayed ones are stamped late: it errs towards more
//! latency, never less).

use crate::error::{CliError, CliResult};
use serde::Deserialize;
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::time::{Duration, Instant};
use tensorchain_primitives::Hash;

/// Blocks buffered between the reader and the bench; beyond it the reader waits (and the node,
/// if it waits long, drops the stream, which is then reopened from where it stopped).
const QUEUE: usize = 4096;
/// The longest event line accepted: a block of 100,000 transactions' hashes is ~7 MB.
const MAX_LINE: u64 = 32 << 20;
/// The node sends a keep-alive every 15 s: a silent stream this long is broken.
const READ_TIMEOUT: Duration = Duration::from_secs(60);
/// Reconnection attempts in a row before the stream counts as lost.
const RECONNECTS: u32 = 10;

/// A finalized block as the bench sees it.
pub struct Finalized {
    /// When its event arrived.
    pub at: Instant,
    pub round: u32,
    pub hashes: Vec<Hash>,
}

pub enum Watched {
    Block(Finalized),
    /// The stream is gone for good (the reason).
    Gone(String),
}

#[derive(Deserialize)]
struct EventData {
    height: u64,
    #[serde(default)]
    round: u32,
    tx_hashes: Vec<Hash>,
}

fn open(base: &str, last: Option<u64>) -> Result<Box<dyn Read + Send>, String> {
    let agent = ureq::AgentBuilder::new()
        .timeout_connect(Duration::from_secs(5))
        .timeout_read(READ_TIMEOUT)
        .build();
    let mut req = agent.get(&format!("{base}/v1/events?topics=finalized"));
    if let Some(h) = last {
        req = req.set("last-event-id", &h.to_string());
    }
    req.call()
        .map(|r| -> Box<dyn Read + Send> { r.into_reader() })
        .map_err(|e| e.to_string())
}

/// Subscribes (before returning, so no later block is missed) and starts the reader thread.
pub fn start(base: &str) -> CliResult<Receiver<Watched>> {
    let stream = open(base, None).map_err(|e| {
        CliError::new(
            "event_stream_unavailable",
            format!("cannot open {base}/v1/events: {e}"),
            "is --network a tensorchain node with free event-stream slots?",
        )
    })?;
    let (tx, rx) = sync_channel(QUEUE);
    let base = base.to_string();
    std::thread::spawn(move || read_forever(base, stream, tx));
    Ok(rx)
}

fn read_forever(base: String, mut stream: Box<dyn Read + Send>, tx: SyncSender<Watched>) {
    let mut last: Option<u64> = None;
    let mut failures = 0;
    loop {
        match read_events(stream, &tx, &mut last) {
            // The bench is done with the stream.
            Ok(false) => return,
            Ok(true) => failures = 0,
            Err(_) if failures < RECONNECTS => failures += 1,
            Err(e) => {
                let _ = tx.send(Watched::Gone(e));
                return;
            }
        }
        loop {
            std::thread::sleep(Duration::from_millis(200));
            match open(&base, last) {
                Ok(s) => {
                    stream = s;
                    break;
                }
                Err(e) if failures >= RECONNECTS => {
                    let _ = tx.send(Watched::Gone(e));
                    return;
                }
                Err(_) => failures += 1,
            }
        }
    }
}

/// Reads events until the stream ends: Ok(true) if it ended after at least one block (reopen at
/// once), Ok(false) if the receiver is gone, Err on a broken or malformed stream.
fn read_events(
    stream: Box<dyn Read + Send>,
    tx: &SyncSender<Watched>,
    last: &mut Option<u64>,
) -> Result<bool, String> {
    let mut reader = BufReader::with_capacity(1 << 16, stream);
    let (mut event, mut data) = (String::new(), String::new());
    let mut line = String::new();
    let mut any = false;
    loop {
        line.clear();
        let n = (&mut reader)
            .take(MAX_LINE)
            .read_line(&mut line)
            .map_err(|e| e.to_string())?;
        if n == 0 {
            return if any {
                Ok(true)
            } else {
                Err("the event stream ended".into())
            };
        }
        if !line.ends_with('\n') {
            return Err(format!("an event line is longer than {MAX_LINE} bytes"));
        }
        let line = line.trim_end_matches(['\n', '\r']);
        if line.is_empty() {
            // The end of one event.
            if event == "finalized" {
                let at = Instant::now();
                let ev: EventData = serde_json::from_str(&data)
                    .map_err(|e| format!("a finalized event is malformed: {e}"))?;
                *last = Some(ev.height);
                any = true;
                let block = Finalized {
                    at,
                    round: ev.round,
                    hashes: ev.tx_hashes,
                };
                if tx.send(Watched::Block(block)).is_err() {
                    return Ok(false);
                }
            } else if event == "dropped" {
                // Too slow for the node: reopen from the last block seen.
                return Ok(true);
            }
            event.clear();
            data.clear();
        } else if let Some(v) = line.strip_prefix("event:") {
            event = v.trim().to_string();
        } else if let Some(v) = line.strip_prefix("data:") {
            data.push_str(v.strip_prefix(' ').unwrap_or(v));
        }
    }
}

/// A set of transactions being waited for, and when each was finalized.
pub struct Tracker {
    index: HashMap<Hash, u32>,
    start: Instant,
    /// Per transaction: when (after `start`) its block's event arrived.
    pub finalized_at: Vec<Option<Duration>>,
    pub finalized: usize,
    /// Blocks seen since `start`: when each event arrived and how many of ours it finalized.
    pub blocks: Vec<(Duration, u64)>,
    /// The rounds beyond 0 those blocks took.
    pub extra_rounds: u64,
}

impl Tracker {
    pub fn new<'a>(hashes: impl ExactSizeIterator<Item = &'a Hash>, start: Instant) -> Tracker {
        let n = hashes.len();
        let mut index = HashMap::with_capacity(n);
        for (i, h) in hashes.enumerate() {
            index.insert(*h, i as u32);
        }
        Tracker {
            index,
            start,
            finalized_at: vec![None; n],
            finalized: 0,
            blocks: Vec::new(),
            extra_rounds: 0,
        }
    }

    /// Moves the clock's zero (the step's start, fixed once everything is signed).
    pub fn restart(&mut self, start: Instant) {
        self.start = start;
    }

    pub fn absorb(&mut self, block: Finalized) {
        self.extra_rounds += u64::from(block.round);
        let at = block.at.saturating_duration_since(self.start);
        let mut ours = 0;
        for h in &block.hashes {
            if let Some(&i) = self.index.get(h) {
                let slot = &mut self.finalized_at[i as usize];
                if slot.is_none() {
                    *slot = Some(at);
                    ours += 1;
                }
            }
        }
        self.finalized += ours as usize;
        self.blocks.push((at, ours));
    }

    /// Takes every block the reader has queued, waiting at most `wait` for the first.
    pub fn poll(&mut self, rx: &Receiver<Watched>, wait: Duration) -> CliResult<()> {
        use std::sync::mpsc::RecvTimeoutError;
        let mut next = rx.recv_timeout(wait);
        loop {
            match next {
                Ok(Watched::Block(b)) => self.absorb(b),
                Ok(Watched::Gone(e)) => return Err(stream_lost(&e)),
                Err(RecvTimeoutError::Timeout) => return Ok(()),
                Err(RecvTimeoutError::Disconnected) => return Err(stream_lost("reader ended")),
            }
            next = rx.try_recv().map_err(|e| match e {
                std::sync::mpsc::TryRecvError::Empty => RecvTimeoutError::Timeout,
                std::sync::mpsc::TryRecvError::Disconnected => RecvTimeoutError::Disconnected,
            });
        }
    }
}

/// Throws away blocks queued before now (they belong to an earlier phase).
pub fn discard_queued(rx: &Receiver<Watched>) -> CliResult<()> {
    while let Ok(w) = rx.try_recv() {
        if let Watched::Gone(e) = w {
            return Err(stream_lost(&e));
        }
    }
    Ok(())
}

fn stream_lost(reason: &str) -> CliError {
    CliError::new(
        "event_stream_lost",
        format!("the node's event stream broke and could not be reopened: {reason}"),
        "check that the node is still running; results without it would be wrong",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_parsed_stamped_and_matched() {
        let h = |i: u8| Hash([i; 32]);
        let text = format!(
            ": keep-alive\n\nevent: finalized\nid: 7\ndata: {{\"height\":7,\"hash\":\"{}\",\"time_ms\":1,\"round\":2,\"tx_hashes\":[\"{}\",\"{}\"]}}\n\nevent: dropped\ndata: {{}}\n\n",
            h(9), h(1), h(3)
        );
        let (tx, rx) = sync_channel(8);
        let mut last = None;
        let ended = read_events(Box::new(std::io::Cursor::new(text)), &tx, &mut last);
        assert_eq!(ended, Ok(true));
        assert_eq!(last, Some(7));
        let ours = [h(1), h(2)];
        let mut t = Tracker::new(ours.iter(), Instant::now());
        t.poll(&rx, Duration::from_millis(10)).unwrap();
        assert_eq!((t.blocks.len(), t.extra_rounds, t.finalized), (1, 2, 1));
        assert_eq!(t.blocks[0].1, 1);
        assert!(t.finalized_at[0].is_some() && t.finalized_at[1].is_none());
    }

    #[test]
    fn an_endless_line_is_refused() {
        let (tx, _rx) = sync_channel(1);
        let endless = std::io::repeat(b'a').take(MAX_LINE + 10);
        assert!(read_events(Box::new(endless), &tx, &mut None).is_err());
    }
}
