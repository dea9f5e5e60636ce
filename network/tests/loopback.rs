//! Real swarms over 127.0.0.1: peering by bootnode, Kademlia discovery, gossip with validation,
//! request-response.

use std::time::Duration;
use tensorchain_network::*;
use tokio::sync::watch;

async fn node(bootnodes: Vec<Multiaddr>, stop: &watch::Receiver<bool>) -> (NetworkHandle, Events) {
    node_with(bootnodes, stop, PeerSharing::Share, vec![]).await
}

async fn node_with(
    bootnodes: Vec<Multiaddr>,
    stop: &watch::Receiver<bool>,
    peer_sharing: PeerSharing,
    private_peers: Vec<PeerId>,
) -> (NetworkHandle, Events) {
    let config = NetworkConfig {
        chain_id: "loopback".into(),
        key: NodeKey::generate_ed25519(),
        listen: "/ip4/127.0.0.1/tcp/0".parse().unwrap(),
        bootnodes,
        agent: "test".into(),
        peer_sharing,
        private_peers,
    };
    let (h, e, _) = start(config, stop.clone()).await.unwrap();
    (h, e)
}

async fn next_gossip(events: &mut Events) -> (MessageId, PeerId, Vec<u8>) {
    loop {
        if let Event::Gossip {
            id, source, data, ..
        } = events.consensus.recv().await.unwrap()
        {
            return (id, source, data);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_peer_gossip_and_answer_requests() {
    let (_stop_tx, stop) = watch::channel(false);
    let (a, mut a_events) = node(vec![], &stop).await;
    let a_addr = a.listen_addrs()[0].clone();
    assert_eq!(peer_id_of(&a_addr), Some(a.local_peer_id()));
    let (b, mut b_events) = node(vec![a_addr], &stop).await;

    let got = tokio::time::timeout(Duration::from_secs(20), async {
        // Publishing fails quietly until the subscription is known; retry like the node does.
        loop {
            assert!(b.publish_consensus(b"hello".to_vec()));
            if let Ok(g) =
                tokio::time::timeout(Duration::from_millis(300), next_gossip(&mut a_events)).await
            {
                return g;
            }
        }
    })
    .await
    .expect("gossip arrives");
    assert_eq!(got.2, b"hello");
    a.report(got.0, got.1, MessageAcceptance::Accept);
    assert_eq!(a.peers().len(), 1);

    // Sync requests arrive on their own queue, not the consensus one.
    let responder = tokio::spawn(async move {
        let req = b_events.sync.recv().await.expect("a sync request");
        assert_eq!(req.request, SyncRequest::Status);
        b.respond(req.channel, SyncResponse::Refused(SyncRefusal::Busy));
        b
    });
    let b_id = a.peers()[0].peer_id;
    let resp = tokio::time::timeout(
        Duration::from_secs(10),
        a.request(b_id, SyncRequest::Status),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(resp, SyncResponse::Refused(SyncRefusal::Busy));
    responder.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consensus_gets_through_a_transaction_flood() {
    let (_stop_tx, stop) = watch::channel(false);
    let (a, mut a_events) = node(vec![], &stop).await;
    let (b, _b_events) = node(vec![a.listen_addrs()[0].clone()], &stop).await;
    // Wait until gossip flows at all.
    tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            b.publish_consensus(b"ready".to_vec());
            if tokio::time::timeout(Duration::from_millis(300), next_gossip(&mut a_events))
                .await
                .is_ok()
            {
                return;
            }
        }
    })
    .await
    .expect("gossip flows");

    // A flood far beyond the transaction queues: the excess is dropped at the handle, and the
    // receiver never reports the tx messages, yet a consensus message still arrives.
    let flood = vec![7u8; 2048];
    let accepted = (0..20_000)
        .filter(|i| {
            let mut m = flood.clone();
            m[..4].copy_from_slice(&(*i as u32).to_le_bytes());
            b.publish_tx(m)
        })
        .count();
    assert!(accepted < 20_000, "the tx queue is bounded");
    assert_eq!(
        b.tx_gossip_stats().dropped_unbatched,
        20_000 - accepted as u64,
        "every drop is counted"
    );
    assert!(b.publish_consensus(b"vote".to_vec()));
    let got = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            let (_, _, data) = next_gossip(&mut a_events).await;
            if data == b"vote" {
                return;
            }
        }
    })
    .await;
    assert!(
        got.is_ok(),
        "the consensus message was lost behind the flood"
    );
}

/// Waits until `from`'s consensus gossip reaches `to_events`.
async fn gossip_flows(from: &NetworkHandle, to_events: &mut Events) {
    tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            from.publish_consensus(b"ready".to_vec());
            if tokio::time::timeout(Duration::from_millis(300), next_gossip(to_events))
                .await
                .is_ok()
            {
                return;
            }
        }
    })
    .await
    .expect("gossip flows");
}

/// Issue 12: transactions published one at a time travel in a few batches, every one arriving;
/// and with content-hash message ids, the same consensus bytes published again (a rebroadcast)
/// still arrive, as a new message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transactions_travel_in_few_batches_and_rebroadcasts_still_arrive() {
    let (_stop_tx, stop) = watch::channel(false);
    let (a, mut a_events) = node(vec![], &stop).await;
    let (b, _b_events) = node(vec![a.listen_addrs()[0].clone()], &stop).await;
    gossip_flows(&b, &mut a_events).await;

    const TXS: u32 = 2_000;
    for i in 0..TXS {
        assert!(b.publish_tx(i.to_le_bytes().repeat(40)));
    }
    let mut seen = std::collections::BTreeSet::new();
    let mut messages = 0;
    tokio::time::timeout(Duration::from_secs(20), async {
        while seen.len() < TXS as usize {
            let Event::Gossip {
                id,
                source,
                data,
                topic,
            } = a_events.tx.recv().await.unwrap()
            else {
                continue;
            };
            assert_eq!(topic, Topic::Tx);
            messages += 1;
            for tx in decode_batch(&data).expect("a well-formed batch") {
                assert!(tx.len() <= MAX_BATCH_BYTES);
                assert!(seen.insert(tx.to_vec()), "each transaction once");
            }
            a.report(id, source, MessageAcceptance::Accept);
        }
    })
    .await
    .expect("every transaction arrives");
    assert!(
        messages <= 12,
        "{TXS} transactions took {messages} messages"
    );
    let stats = b.tx_gossip_stats();
    assert_eq!(stats.txs_published, TXS as u64);
    assert_eq!(stats.batches_published, messages);
    assert_eq!(stats.dropped_unbatched + stats.dropped_outbound_batches, 0);

    for _ in 0..2 {
        assert!(b.publish_consensus(b"vote".to_vec()));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let votes = tokio::time::timeout(Duration::from_secs(10), async {
        let mut n = 0;
        while n < 2 {
            let (id, source, data) = next_gossip(&mut a_events).await;
            a.report(id, source, MessageAcceptance::Accept);
            n += usize::from(data == b"vote");
        }
    })
    .await;
    assert!(
        votes.is_ok(),
        "a republished consensus message was dropped as a duplicate"
    );
}

/// Finding 8 of the Byzantine-peers review: gossipsub peer scoring was off, so a peer whose
/// messages the node rejected kept being heard. Now its gossip is ignored (graylisted).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finding_8_a_peer_whose_gossip_is_rejected_is_graylisted() {
    let (_stop_tx, stop) = watch::channel(false);
    let (a, mut a_events) = node(vec![], &stop).await;
    let (b, _b_events) = node(vec![a.listen_addrs()[0].clone()], &stop).await;
    let mut junk = 0u32;
    tokio::time::timeout(Duration::from_secs(20), async {
        while junk < 10 {
            b.publish_consensus(format!("junk {junk}").into_bytes());
            if let Ok((id, source, _)) =
                tokio::time::timeout(Duration::from_millis(300), next_gossip(&mut a_events)).await
            {
                a.report(id, source, MessageAcceptance::Reject);
                junk += 1;
            }
        }
    })
    .await
    .expect("junk arrives");
    // Whatever b sends now is not heard: a's gossipsub ignores a graylisted peer.
    let heard = tokio::time::timeout(Duration::from_secs(2), async {
        loop {
            b.publish_consensus(b"after".to_vec());
            if let Ok((_, _, data)) =
                tokio::time::timeout(Duration::from_millis(200), next_gossip(&mut a_events)).await
            {
                if data == b"after" {
                    return;
                }
            }
        }
    })
    .await;
    assert!(heard.is_err(), "a rejected peer's gossip still got through");
}

async fn connected(h: &NetworkHandle, n: usize) {
    tokio::time::timeout(Duration::from_secs(20), async {
        while h.peers().len() < n {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("peers connect");
}

fn connected_ids(h: &NetworkHandle) -> Vec<PeerId> {
    h.peers().iter().map(|p| p.peer_id).collect()
}

/// Starts six nodes, node i (i > 0) knowing only node `bootnode_of(i)`, and waits until every
/// node has the five others in its routing table and is connected to them.
async fn six_nodes_find_each_other(bootnode_of: fn(usize) -> usize) {
    let (_stop_tx, stop) = watch::channel(false);
    let mut nodes: Vec<(NetworkHandle, Events)> = Vec::new();
    for i in 0..6 {
        let bootnodes = match i {
            0 => vec![],
            _ => vec![nodes[bootnode_of(i)].0.listen_addrs()[0].clone()],
        };
        nodes.push(node(bootnodes, &stop).await);
    }
    let ids: Vec<PeerId> = nodes.iter().map(|(h, _)| h.local_peer_id()).collect();
    let started = std::time::Instant::now();
    let all_found = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            let done = nodes.iter().all(|(h, _)| {
                let (known, conn) = (h.known_peers(), connected_ids(h));
                ids.iter()
                    .filter(|id| **id != h.local_peer_id())
                    .all(|id| known.contains(id) && conn.contains(id))
            });
            if done {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
    for (h, _) in &nodes {
        eprintln!(
            "{}: knows {}, connected to {}",
            h.local_peer_id(),
            h.known_peers().len(),
            h.peers().len()
        );
    }
    assert!(all_found.is_ok(), "not every node found all 5 others");
    eprintln!("all 6 found each other in {:?}", started.elapsed());
}

/// Kademlia: six nodes in a chain, each started knowing only the one before it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn six_nodes_each_knowing_one_bootnode_find_all_the_others() {
    six_nodes_find_each_other(|i| i - 1).await;
}

/// Kademlia: six nodes that all know only the first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn six_nodes_knowing_only_the_first_find_all_the_others() {
    six_nodes_find_each_other(|_| 0).await;
}

/// Finding 8 of the Byzantine-peers review (issue #10), with Kademlia: a sentry never hands out
/// its private validator, and a validator with sharing off (client mode) is in nobody's table,
/// learns nothing and dials only its configured peers. A stranger that knows only the sentry
/// finds the sentry's public peer, never the validator.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finding_8_private_peers_and_sharing_off_are_not_handed_out() {
    let (_stop_tx, stop) = watch::channel(false);
    let (validator, _v_events) = node_with(vec![], &stop, PeerSharing::Off, vec![]).await;
    let v_addr = validator.listen_addrs()[0].clone();
    let (public, _p_events) = node(vec![], &stop).await;
    let p_addr = public.listen_addrs()[0].clone();
    let (sentry, _s_events) = node_with(
        vec![v_addr.clone(), p_addr],
        &stop,
        PeerSharing::Share,
        vec![validator.local_peer_id()],
    )
    .await;
    let s_addr = sentry.listen_addrs()[0].clone();
    connected(&sentry, 2).await;
    let (stranger, _stranger_events) = node(vec![s_addr], &stop).await;
    // The stranger learns the public node from the sentry and connects to it.
    tokio::time::timeout(Duration::from_secs(20), async {
        while !connected_ids(&stranger).contains(&public.local_peer_id()) {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("the stranger finds the public node through the sentry");
    // Long past a bootstrap and a redial round.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let v = validator.local_peer_id();
    for (who, h) in [
        ("stranger", &stranger),
        ("public", &public),
        ("sentry", &sentry),
    ] {
        assert!(
            !h.known_peers().contains(&v),
            "{who} has the validator in its table"
        );
    }
    assert!(!connected_ids(&stranger).contains(&v));
    assert!(!connected_ids(&public).contains(&v));
    assert_eq!(validator.known_peers(), vec![]);
    assert_eq!(connected_ids(&validator), vec![sentry.local_peer_id()]);
    assert_eq!(validator.find_node_answers(), 0);
}

/// `PeerSharing::MadeUp` (`chaos peer-flood`) answers every FIND_NODE with made-up peers, each
/// with a dozen addresses. A node asking it keeps only real peers in its table (a peer enters
/// only once it answered on our kad protocol), stays connected to its honest peer, and stays
/// within its connection bounds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn made_up_peers_in_answers_never_enter_the_table() {
    let (_stop_tx, stop) = watch::channel(false);
    let (liar, _l_events) = node_with(vec![], &stop, PeerSharing::MadeUp, vec![]).await;
    let (honest, _h_events) = node(vec![], &stop).await;
    let (victim, _v_events) = node(
        vec![
            liar.listen_addrs()[0].clone(),
            honest.listen_addrs()[0].clone(),
        ],
        &stop,
    )
    .await;
    connected(&victim, 2).await;
    tokio::time::timeout(Duration::from_secs(20), async {
        while liar.find_node_answers() == 0 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("the victim asks the liar for peers");
    let made_up = liar.known_peers().len();
    assert!(made_up > 100, "the liar has {made_up} made-up peers");
    tokio::time::sleep(Duration::from_secs(4)).await;
    let mut known = victim.known_peers();
    known.sort();
    let mut real = vec![liar.local_peer_id(), honest.local_peer_id()];
    real.sort();
    assert_eq!(known, real, "made-up peers entered the victim's table");
    let mut conn = connected_ids(&victim);
    conn.sort();
    assert_eq!(conn, real);
}

/// One host posing as many peers cannot take every incoming slot: past `MAX_INCOMING_PER_IP`
/// (16) connections from one address, the node closes new ones.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_gets_at_most_16_incoming_connections() {
    let (_stop_tx, stop) = watch::channel(false);
    // No discovery (sharing off), so every connection is one of the crowd dialing the target.
    let (target, _t_events) = node_with(vec![], &stop, PeerSharing::Off, vec![]).await;
    let addr = target.listen_addrs()[0].clone();
    let mut crowd = Vec::new();
    for _ in 0..24 {
        crowd.push(node_with(vec![addr.clone()], &stop, PeerSharing::Off, vec![]).await);
    }
    connected(&target, 8).await;
    // Every member of the crowd has dialed (and redials every 3 s); 16 connections are let in
    // (a peer whose dial was retried before its first finished may hold two of them).
    for _ in 0..8 {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let peers = target.peers().len();
        assert!((8..=16).contains(&peers), "{peers} peers from one address");
    }
    drop(crowd);
}

/// A validator behind a sentry, peer sharing off, never learns the sentry's other peers, so it
/// never dials them (and never shows them its address).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finding_8_a_node_with_sharing_off_dials_only_its_configured_peers() {
    let (_stop_tx, stop) = watch::channel(false);
    let (validator, _v_events) = node_with(vec![], &stop, PeerSharing::Off, vec![]).await;
    let (public, _p_events) = node(vec![], &stop).await;
    // The sentry dials both and keeps its validator private.
    let (sentry, _s_events) = node_with(
        vec![
            validator.listen_addrs()[0].clone(),
            public.listen_addrs()[0].clone(),
        ],
        &stop,
        PeerSharing::Share,
        vec![validator.local_peer_id()],
    )
    .await;
    connected(&sentry, 2).await;
    // Long past a bootstrap and a redial round.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let peers: Vec<PeerId> = validator.peers().iter().map(|p| p.peer_id).collect();
    assert_eq!(peers, vec![sentry.local_peer_id()]);
}

/// Review HIGH-1: a peer that answers every FIND_NODE with fresh peers that accept connections
/// cannot make a node open connections without limit. The hub has 160 reachable nodes as
/// bootnodes (its k-buckets keep about 78 of them); the victim knows only the hub and looks up
/// random keys again and again, yet never has more than the outgoing cap (64) of connections
/// (it stops looking, and discovery stops dialing, at `MAX_PEERS` = 50). Before the fix it
/// reached 76.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lookups_never_take_a_node_past_its_outgoing_connection_cap() {
    const SERVED: usize = 160;
    const MAX_OUTGOING: usize = 64;
    let (_stop_tx, stop) = watch::channel(false);
    let hub_key = NodeKey::generate_ed25519();
    let victim_key = NodeKey::generate_ed25519();
    let private = vec![
        hub_key.public().to_peer_id(),
        victim_key.public().to_peer_id(),
    ];
    let config =
        |key: NodeKey, bootnodes: Vec<Multiaddr>, private_peers: Vec<PeerId>| NetworkConfig {
            chain_id: "loopback".into(),
            key,
            listen: "/ip4/127.0.0.1/tcp/0".parse().unwrap(),
            bootnodes,
            agent: "test".into(),
            peer_sharing: PeerSharing::Share,
            private_peers,
        };
    // Kad servers that learn nobody (the hub and the victim are private to them), so they never
    // dial: each costs the victim exactly the connection it opens.
    let mut served = Vec::new();
    for _ in 0..SERVED {
        let (h, e, _) = start(
            config(NodeKey::generate_ed25519(), vec![], private.clone()),
            stop.clone(),
        )
        .await
        .unwrap();
        served.push((h, e));
    }
    let addrs: Vec<Multiaddr> = served
        .iter()
        .map(|(h, _)| h.listen_addrs()[0].clone())
        .collect();
    let (hub, _hub_events, _) = start(config(hub_key, addrs, vec![]), stop.clone())
        .await
        .unwrap();
    let (victim, _victim_events, _) = start(
        config(victim_key, vec![hub.listen_addrs()[0].clone()], vec![]),
        stop.clone(),
    )
    .await
    .unwrap();
    let mut most = 0;
    for _ in 0..80 {
        victim.lookup();
        tokio::time::sleep(Duration::from_millis(250)).await;
        most = most.max(victim.peers().len());
    }
    eprintln!(
        "victim: at most {most} connections, {} at the end, {} in its table",
        victim.peers().len(),
        victim.known_peers().len()
    );
    assert!(most > 20, "the lookups found the served nodes ({most})");
    assert!(most <= MAX_OUTGOING, "{most} connections");
}
