//! Bytes on a block-sync stream → the sync codec (`SyncCodec`: length prefix checked before
//! allocation, borsh), as a request or a response (the first byte chooses):
//! - a request is answered by `serve_sync_request` from the shared chain, and the answer must
//!   go back through the codec and decode to itself;
//! - a response is handed to a node machine at genesis as a peer's status and as the answer to
//!   each range it then asks that peer for (commits verified, blocks executed and committed).
//!
//! Invariant: whatever the machine applies is the real chain (a commit cannot be forged).

use crate::fixture::{chain, machine, peer, start_ms, CHAIN_BLOCKS};
use futures::executor::block_on;
use futures::io::Cursor;
use libp2p::request_response::Codec;
use libp2p::StreamProtocol;
use tensorchain_consensus::MemoryWal;
use tensorchain_network::{SyncCodec, SyncRequest, SyncResponse};
use tensorchain_node::machine::{Effect, Input};
use tensorchain_node::serve_sync_request;
use tensorchain_rpc::NodeApi;

pub fn run(data: &[u8]) {
    let Some((&kind, stream)) = data.split_first() else {
        return;
    };
    let protocol = StreamProtocol::new("/tensorchain-devnet/sync/1");
    let mut codec = SyncCodec;
    if kind % 2 == 0 {
        let Ok(request) = block_on(codec.read_request(&protocol, &mut Cursor::new(stream))) else {
            return;
        };
        let response = serve_sync_request(&chain().0, request);
        let mut sent = Cursor::new(Vec::new());
        block_on(codec.write_response(&protocol, &mut sent, response.clone()))
            .expect("an answer this node serves fits the codec");
        let back = block_on(codec.read_response(&protocol, &mut Cursor::new(sent.into_inner())))
            .expect("an answer this node serves decodes");
        assert_eq!(back, response);
        return;
    }
    let Ok(response) = block_on(codec.read_response(&protocol, &mut Cursor::new(stream))) else {
        return;
    };
    apply(response);
}

/// Hands `response` to a machine at genesis as described above; returns the height it reached.
pub(crate) fn apply(response: SyncResponse) -> u64 {
    let (real, blocks) = chain();
    let (node, mut m) = machine(MemoryWal::default());
    let now = start_ms();
    let server = peer(1);
    let mut effects = m.start(now);
    effects.extend(m.handle(
        now,
        Input::Status {
            peer: server,
            response: Some(response.clone()),
        },
    ));
    // The server's claim that makes the machine ask for ranges, whatever the status above said.
    let claim = serve_sync_request(real, SyncRequest::Status);
    let asked = m.handle(
        now,
        Input::Status {
            peer: server,
            response: Some(claim),
        },
    );
    for effect in &asked {
        if let Effect::RequestRange { peer, from, .. } = effect {
            effects.extend(m.handle(
                now,
                Input::Range {
                    peer: *peer,
                    from: *from,
                    response: Some(response.clone()),
                },
            ));
        }
    }
    effects.extend(asked);
    if let Some(Effect::Halt(why)) = effects.iter().find(|e| matches!(e, Effect::Halt(_))) {
        panic!("the machine halted over memory storage: {why}");
    }
    let head = node.ledger().head();
    assert!(head.height <= CHAIN_BLOCKS);
    if head.height > 0 {
        let (block, _) = &blocks[head.height as usize - 1];
        assert_eq!(
            head.hash,
            block.hash(),
            "a synced block is the real chain's"
        );
    }
    head.height
}
