//! The committed seed corpus (`corpus/<target>/`), made from real encodings of the fixture chain.
//! Regenerate with `cargo test --manifest-path fuzz/Cargo.toml --lib -- --ignored` (after a
//! change of an encoding); `seeds_reach_deep` checks that the seeds reach what they are for.

use crate::consensus_wire::Step;
use crate::fixture::{
    chain, fresh_ledger, machine, machine_key, next_block, proposer, spec, start_ms, transfer,
    validator_keys, CHAIN_BLOCKS,
};
use futures::executor::block_on;
use futures::io::Cursor;
use libp2p::request_response::Codec;
use libp2p::StreamProtocol;
use std::path::PathBuf;
use tensorchain_consensus::{
    Config, Driver, Input as CoreInput, MemoryWal, Proposal, SignedProposal, SignedVote,
    ValidatorSet,
};
use tensorchain_genesis::{dev_coldkey, dev_hotkey, ChainSpec};
use tensorchain_network::{encode_batch, SyncCodec, SyncRequest};
use tensorchain_node::machine::timeouts;
use tensorchain_node::serve_sync_request;
use tensorchain_node::wire::ConsensusWire;
use tensorchain_primitives::{address, Block, Call, Keypair, SignedTx, Tx, Vote, VoteKind};
use tensorchain_rpc::NodeApi;

fn seeds() -> Vec<(&'static str, &'static str, Vec<u8>)> {
    let mut out = Vec::new();
    out.extend(signed_tx().into_iter().map(|(n, b)| ("signed_tx", n, b)));
    out.extend(block().into_iter().map(|(n, b)| ("block", n, b)));
    out.extend(
        consensus_wire()
            .into_iter()
            .map(|(n, b)| ("consensus_wire", n, b)),
    );
    out.extend(sync_codec().into_iter().map(|(n, b)| ("sync_codec", n, b)));
    out.extend(wal_replay().into_iter().map(|(n, b)| ("wal_replay", n, b)));
    out.extend(chain_spec().into_iter().map(|(n, b)| ("chain_spec", n, b)));
    out.extend(
        ss58_amount()
            .into_iter()
            .map(|(n, b)| ("ss58_amount", n, b)),
    );
    out.extend(
        yuma_snapshot()
            .into_iter()
            .map(|(n, b)| ("yuma_snapshot", n, b)),
    );
    out
}

fn corpus_dir(target: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("corpus")
        .join(target)
}

#[test]
#[ignore = "writes the committed seed corpus"]
fn write_seed_corpus() {
    for (target, name, bytes) in seeds() {
        let dir = corpus_dir(target);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(name), bytes).unwrap();
    }
}

fn signed(key: &Keypair, nonce: u64, call: Call) -> SignedTx {
    let ledger = &chain().0;
    let params = ledger.params();
    Tx {
        chain_id: params.chain_id.clone(),
        signer: key.account(),
        nonce,
        fee: params.fees.for_call(&call),
        call,
    }
    .sign(key, ledger.signing_domain())
}

fn signed_tx() -> Vec<(&'static str, Vec<u8>)> {
    let ledger = &chain().0;
    let bob = dev_coldkey("bob");
    let nonce = ledger
        .account(&bob.account())
        .unwrap()
        .map_or(0, |a| a.nonce);
    let stake = signed(
        &bob,
        nonce,
        Call::AddStake {
            hotkey: dev_hotkey("bob").account(),
            amount: 5_000,
        },
    );
    let subnet = signed(
        &bob,
        nonce + 1,
        Call::RegisterSubnet {
            hotkey: dev_hotkey("eve").account(),
            max_cost: u64::MAX,
            identity: "fuzz".into(),
        },
    );
    let two = [stake.to_bytes(), subnet.to_bytes()].concat();
    vec![
        ("transfer", transfer(ledger, "alice", "dave", 7).to_bytes()),
        ("stake-then-subnet", two),
    ]
}

fn block() -> Vec<(&'static str, Vec<u8>)> {
    let ledger = &chain().0;
    let (with_tx, _) = next_block(ledger, vec![transfer(ledger, "charlie", "bob", 9)]);
    let (empty, _) = next_block(ledger, vec![]);
    vec![
        ("next-with-transfer", borsh::to_vec(&with_tx).unwrap()),
        ("next-empty", borsh::to_vec(&empty).unwrap()),
    ]
}

/// Height 1 as the machine's validator sees it: the round's proposal (a block with a transfer)
/// and the other validators' prevotes and precommits for it.
struct Height1 {
    proposal: SignedProposal,
    block: Block,
    prevotes: Vec<SignedVote>,
    precommits: Vec<SignedVote>,
}

fn height_1() -> Height1 {
    let ledger = fresh_ledger();
    let domain = ledger.signing_domain().clone();
    let (block, _) = next_block(&ledger, vec![transfer(&ledger, "alice", "bob", 5)]);
    let by = proposer(&ledger, 1);
    let keys = validator_keys();
    let proposer_key = keys.iter().find(|k| k.account() == by).unwrap();
    let proposal = SignedProposal::sign(
        Proposal {
            chain_id: domain.chain_id.clone(),
            height: 1,
            round: 0,
            value: block.hash(),
            pol_round: None,
        },
        proposer_key,
        &domain,
    );
    let me = machine_key().account();
    let vote = |kind, key: &Keypair| {
        let vote = Vote {
            chain_id: domain.chain_id.clone(),
            height: 1,
            round: 0,
            kind,
            block_hash: Some(block.hash()),
        };
        SignedVote::sign(vote, key, &domain)
    };
    let others: Vec<&Keypair> = keys.iter().filter(|k| k.account() != me).collect();
    Height1 {
        prevotes: others.iter().map(|k| vote(VoteKind::Prevote, k)).collect(),
        precommits: others
            .iter()
            .map(|k| vote(VoteKind::Precommit, k))
            .collect(),
        proposal,
        block,
    }
}

fn steps(steps: &[Step]) -> Vec<u8> {
    steps
        .iter()
        .flat_map(|s| borsh::to_vec(s).unwrap())
        .collect()
}

fn consensus_wire() -> Vec<(&'static str, Vec<u8>)> {
    let h = height_1();
    let gossip = |from: u8, wire: ConsensusWire| Step::Consensus {
        from,
        data: wire.encode(),
    };
    let proposal = gossip(
        0,
        ConsensusWire::Proposal {
            proposal: h.proposal.clone(),
            block: Box::new(h.block.clone()),
        },
    );
    let mut decide = vec![proposal.clone()];
    decide.extend(
        h.prevotes
            .iter()
            .map(|v| gossip(1, ConsensusWire::Vote(v.clone()))),
    );
    decide.extend(
        h.precommits
            .iter()
            .map(|v| gossip(2, ConsensusWire::Vote(v.clone()))),
    );
    decide.push(Step::Tick { ms: 1_000 });
    let ledger = fresh_ledger();
    let tx = Step::Tx {
        from: 3,
        data: encode_batch(&[transfer(&ledger, "dave", "eve", 3).to_bytes()]),
    };
    vec![
        ("proposal", steps(&[proposal, Step::Tick { ms: 3_000 }])),
        ("decide-height-1", steps(&decide)),
        (
            "tx-then-timeouts",
            steps(&[
                tx,
                Step::Tick { ms: 2_000 },
                Step::PeerDown(3),
                Step::Tick { ms: 9_000 },
            ]),
        ),
    ]
}

fn framed_request(request: SyncRequest) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    block_on(SyncCodec.write_request(&protocol(), &mut out, request)).unwrap();
    [vec![0], out.into_inner()].concat()
}

fn protocol() -> StreamProtocol {
    StreamProtocol::new("/tensorchain-devnet/sync/1")
}

fn sync_codec() -> Vec<(&'static str, Vec<u8>)> {
    let ledger = &chain().0;
    let framed_response = |request| {
        let mut out = Cursor::new(Vec::new());
        let response = serve_sync_request(ledger, request);
        block_on(SyncCodec.write_response(&protocol(), &mut out, response)).unwrap();
        [vec![1], out.into_inner()].concat()
    };
    let blocks = SyncRequest::Blocks {
        from: 1,
        count: CHAIN_BLOCKS as u32,
    };
    vec![
        ("request-status", framed_request(SyncRequest::Status)),
        ("request-blocks", framed_request(blocks.clone())),
        ("response-status", framed_response(SyncRequest::Status)),
        ("response-blocks", framed_response(blocks)),
    ]
}

fn wal_replay() -> Vec<(&'static str, Vec<u8>)> {
    let h = height_1();
    let ledger = fresh_ledger();
    let set = ValidatorSet::new(ledger.validators_at(1).unwrap().unwrap());
    let config = Config::new(
        ledger.signing_domain().clone(),
        timeouts(spec().block_time_ms),
    );
    let mut driver = Driver::new(config, Some(machine_key().clone()), MemoryWal::default());
    driver.start_height(1, set).unwrap();
    driver.handle(CoreInput::Proposal {
        proposal: h.proposal,
        valid: true,
    });
    let prevoted = driver.wal_mut().bytes.clone();
    for v in h.prevotes.into_iter().chain(h.precommits) {
        driver.handle(CoreInput::Vote(v));
    }
    vec![
        ("prevoted", prevoted),
        ("decided", driver.wal_mut().bytes.clone()),
    ]
}

fn chain_spec() -> Vec<(&'static str, Vec<u8>)> {
    let hotkey = dev_hotkey("alice").account();
    vec![
        ("devnet-4", ChainSpec::devnet(4, 1).to_json().into_bytes()),
        ("devnet-1", ChainSpec::devnet(1, 0).to_json().into_bytes()),
        (
            "mainnet",
            ChainSpec::mainnet(&[hotkey], 1_700_000_000_000)
                .to_json()
                .into_bytes(),
        ),
    ]
}

fn ss58_amount() -> Vec<(&'static str, Vec<u8>)> {
    let alice = dev_coldkey("alice").account();
    vec![
        ("ss58", address::encode(&alice.0).into_bytes()),
        ("hex", format!("0x{}", hex(&alice.0)).into_bytes()),
        ("tao", b"1.5".to_vec()),
        ("rao", b"0.000000001".to_vec()),
        ("supply", b"21000000".to_vec()),
    ]
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn yuma_snapshot() -> Vec<(&'static str, Vec<u8>)> {
    let case = |file: &str| -> serde_json::Value {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../subnet-engine/tests/yuma-cases")
            .join(file);
        let case: serde_json::Value =
            serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
        case["input"].clone()
    };
    let classic = case("01_classic_2v2m_prior_bonds.json");
    let liquid = case("03_yuma3_liquid_alpha.json");
    let sequence = serde_json::json!({ "epochs": [classic, classic], "carry": true });
    let json = |v: &serde_json::Value| serde_json::to_vec(v).unwrap();
    vec![
        ("classic", json(&classic)),
        ("yuma3-liquid-alpha", json(&liquid)),
        ("carried-sequence", json(&sequence)),
    ]
}

/// The seeds take each target where it is meant to go, and run clean through it.
#[test]
fn seeds_reach_deep() {
    for (target, _, bytes) in seeds() {
        let run: fn(&[u8]) = match target {
            "signed_tx" => crate::signed_tx::run,
            "block" => crate::block::run,
            "consensus_wire" => crate::consensus_wire::run,
            "sync_codec" => crate::sync_codec::run,
            "wal_replay" => crate::wal_replay::run,
            "chain_spec" => crate::chain_spec::run,
            "ss58_amount" => crate::ss58_amount::run,
            "yuma_snapshot" => crate::yuma_snapshot::run,
            other => panic!("unknown target {other}"),
        };
        run(&bytes);
    }
    // The real block executes on the chain's head.
    let ledger = &chain().0;
    let (next, _) = next_block(ledger, vec![]);
    ledger.execute_block(&next).unwrap();
    // The consensus seed decides height 1 at the machine.
    let h = height_1();
    let (node, mut m) = machine(MemoryWal::default());
    let now = start_ms();
    m.start(now);
    let id = tensorchain_network::MessageId::new(b"x");
    let src = crate::fixture::peer(0);
    let mut msgs = vec![ConsensusWire::Proposal {
        proposal: h.proposal,
        block: Box::new(h.block),
    }];
    msgs.extend(h.prevotes.into_iter().map(ConsensusWire::Vote));
    msgs.extend(h.precommits.into_iter().map(ConsensusWire::Vote));
    for w in msgs {
        m.handle(
            now,
            tensorchain_node::machine::Input::ConsensusGossip {
                id: id.clone(),
                source: src,
                data: w.encode(),
            },
        );
    }
    assert_eq!(node.ledger().head().height, 1, "height 1 decided");
    // The transaction seed's batch is admitted by intake.
    let (node, _) = machine(MemoryWal::default());
    let batch = encode_batch(&[transfer(&fresh_ledger(), "dave", "eve", 3).to_bytes()]);
    let mut intake = tensorchain_node::intake::TxIntake::new(node);
    assert_eq!(
        intake.handle(src, &batch),
        tensorchain_network::MessageAcceptance::Accept
    );
    assert_eq!(intake.stats().admitted, 1);
    // The served blocks sync the whole chain.
    let served = serve_sync_request(
        &chain().0,
        SyncRequest::Blocks {
            from: 1,
            count: CHAIN_BLOCKS as u32,
        },
    );
    assert_eq!(crate::sync_codec::apply(served), CHAIN_BLOCKS);
}
