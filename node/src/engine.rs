//! The consensus engine task: the tokio shell around the node machine (`machine.rs`). It feeds
//! the machine network events, sync answers and the wall clock, wakes it at its deadline, and
//! performs the effects it returns on the network. Every decision is the machine's; nothing here
//! is simulated, so it stays this thin.

use crate::machine::{Effect, Halt, Input, NodeMachine, ProposalSlot};
use crate::node::Node;
use crate::service::StartError;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tensorchain_consensus::{FileWal, Timeouts};
use tensorchain_network::{Event, NetworkHandle, SyncRequest, Topic};
use tensorchain_primitives::Block;
use tokio::sync::{mpsc, watch};

/// Sync answers waiting for the engine: at most 8 ranges are in flight and one status request
/// per peer per second, so this is never the bottleneck; a full queue drops the answer, which
/// the machine treats as a failed request.
const SYNC_ANSWERS: usize = 256;

pub struct EngineConfig {
    pub key: Option<tensorchain_primitives::Keypair>,
    pub timeouts: Timeouts,
    pub consensus_dir: PathBuf,
}

pub struct Engine {
    machine: NodeMachine<FileWal>,
    net: NetworkHandle,
    answers: mpsc::Sender<Input>,
    /// Taken by `run`, which selects on it.
    answers_rx: Option<mpsc::Receiver<Input>>,
}

/// The proposer's block in `<consensus dir>/proposal`, replaced atomically.
struct FileSlot(PathBuf);

impl ProposalSlot for FileSlot {
    fn load(&self) -> Option<Block> {
        let bytes = std::fs::read(&self.0).ok()?;
        borsh::from_slice(&bytes).ok()
    }

    fn save(&mut self, block: &[u8]) -> std::io::Result<()> {
        save_atomic(&self.0, block)
    }
}

/// Wall-clock time in ms since the epoch: the machine's `now`.
fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

impl Engine {
    pub fn new(
        node: Arc<Node>,
        net: NetworkHandle,
        config: EngineConfig,
    ) -> Result<Engine, StartError> {
        crate::service::create_dir(&config.consensus_dir)?;
        let wal = FileWal::open(&config.consensus_dir.join("wal")).map_err(StartError::Wal)?;
        let slot = FileSlot(config.consensus_dir.join("proposal"));
        let machine = NodeMachine::new(node, config.key, config.timeouts, wal, Box::new(slot));
        let (answers, answers_rx) = mpsc::channel(SYNC_ANSWERS);
        Ok(Engine {
            machine,
            net,
            answers,
            answers_rx: Some(answers_rx),
        })
    }

    pub async fn run(
        mut self,
        mut consensus: mpsc::Receiver<Event>,
        mut shutdown: watch::Receiver<bool>,
    ) {
        let mut answers = self.answers_rx.take().expect("an engine runs once");
        // Storage work (execution, commits, WAL syncs) happens inside the machine: it runs
        // without stalling the runtime's other workers.
        let effects = tokio::task::block_in_place(|| self.machine.start(now_ms()));
        if let Err(reason) = self.perform(effects) {
            return halt(&reason);
        }
        loop {
            let sleep =
                Duration::from_millis(self.machine.next_deadline().saturating_sub(now_ms()));
            // A due deadline comes first: a peer keeping the gossip queue full must not starve
            // the round timeouts and status polls (the select below prefers gossip).
            let input = if sleep.is_zero() {
                Input::Tick
            } else {
                tokio::select! {
                    biased;
                    _ = shutdown.wait_for(|s| *s) => return,
                    Some(ev) = consensus.recv() => match ev {
                        Event::Gossip { topic: Topic::Consensus, id, source, data } => {
                            Input::ConsensusGossip { id, source, data }
                        }
                        Event::Gossip { .. } => continue,
                        // A new peer is asked for its status at the next poll.
                        Event::PeerUp(_) => continue,
                        Event::PeerDown(peer) => Input::PeerDown(peer),
                    },
                    Some(answer) = answers.recv() => answer,
                    _ = tokio::time::sleep(sleep) => Input::Tick,
                }
            };
            let effects = tokio::task::block_in_place(|| self.machine.handle(now_ms(), input));
            if let Err(reason) = self.perform(effects) {
                return halt(&reason);
            }
        }
    }

    /// Carries out the machine's effects; `Err` with the reason when it halted.
    fn perform(&mut self, effects: Vec<Effect>) -> Result<(), Halt> {
        for effect in effects {
            match effect {
                Effect::PublishConsensus(data) => {
                    self.net.publish_consensus(data);
                }
                Effect::PublishTx(data) => {
                    self.net.publish_tx(data);
                }
                Effect::Report {
                    id,
                    source,
                    verdict,
                } => self.net.report(id, source, verdict),
                Effect::PollStatus => {
                    for peer in self.net.peers() {
                        let (net, tx) = (self.net.clone(), self.answers.clone());
                        let peer = peer.peer_id;
                        tokio::spawn(async move {
                            let response = net.request(peer, SyncRequest::Status).await.ok();
                            let _ = tx.send(Input::Status { peer, response }).await;
                        });
                    }
                }
                Effect::RequestRange { peer, from, count } => {
                    let (net, tx) = (self.net.clone(), self.answers.clone());
                    tokio::spawn(async move {
                        let response = net
                            .request(peer, SyncRequest::Blocks { from, count })
                            .await
                            .ok();
                        let _ = tx
                            .send(Input::Range {
                                peer,
                                from,
                                response,
                            })
                            .await;
                    });
                }
                Effect::Ban(peer) => self.net.ban(peer),
                Effect::Halt(reason) => return Err(reason),
            }
        }
        Ok(())
    }
}

/// The engine task ends here; the supervisor sees it end, turns health to 503 and exits the
/// process non-zero (`node_failed`).
fn halt(reason: &Halt) {
    tracing::error!(%reason, "the consensus engine halts");
}

/// Replaces `path` with `bytes` so that after a crash it holds either the old or the new content:
/// the file is synced before the rename, and the directory after it (without that, the rename
/// itself may be lost on power loss).
fn save_atomic(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)?;
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
    std::fs::File::open(dir.unwrap_or(std::path::Path::new(".")))?.sync_all()
}
