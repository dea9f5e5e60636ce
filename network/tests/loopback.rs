//! Two real swarms over 127.0.0.1: peering by bootnode, gossip with validation, request-response.

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
        b.respond(req.channel, SyncResponse::Error("no chain here".into()));
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
    assert_eq!(resp, SyncResponse::Error("no chain here".into()));
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

/// The peers' addresses `asker` gets from `of` in a peer exchange.
async fn peers_of(asker: &NetworkHandle, of: PeerId) -> Vec<PeerId> {
    match asker.request(of, SyncRequest::Peers).await.unwrap() {
        SyncResponse::Peers(list) => list
            .iter()
            .filter_map(|b| peer_id_of(&Multiaddr::try_from(b.clone()).ok()?))
            .collect(),
        other => panic!("a peer exchange answered {other:?}"),
    }
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

/// Finding 8 of the Byzantine-peers review (issue #10): a validator's address is handed to
/// strangers only if configured. A sentry lists its validator as a private peer and never shares
/// it; a validator with peer sharing off answers an empty list; `Application` hands the request
/// to the node (what `chaos peer-flood` answers from).
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
    let (stranger, mut stranger_events) = node_with(
        vec![s_addr, v_addr],
        &stop,
        PeerSharing::Application,
        vec![],
    )
    .await;
    connected(&stranger, 2).await;

    let shared = peers_of(&stranger, sentry.local_peer_id()).await;
    assert!(shared.contains(&public.local_peer_id()), "{shared:?}");
    assert!(!shared.contains(&validator.local_peer_id()), "{shared:?}");
    assert_eq!(peers_of(&stranger, validator.local_peer_id()).await, vec![]);

    // The stranger's own answers come from its application (it answers every peer exchange,
    // the automatic one each peer sends on connecting included).
    let flood = vec![vec![0xff; 40]];
    tokio::spawn({
        let stranger = stranger.clone();
        let flood = flood.clone();
        async move {
            while let Some(r) = stranger_events.sync.recv().await {
                if r.request == SyncRequest::Peers {
                    stranger.respond(r.channel, SyncResponse::Peers(flood.clone()));
                }
            }
        }
    });
    let got = tokio::time::timeout(
        Duration::from_secs(10),
        sentry.request(stranger.local_peer_id(), SyncRequest::Peers),
    )
    .await
    .expect("the application answers");
    assert_eq!(got.unwrap(), SyncResponse::Peers(flood));
}

/// One host posing as many peers cannot take every incoming slot: past `MAX_INCOMING_PER_IP`
/// (16) connections from one address, the node closes new ones.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_gets_at_most_16_incoming_connections() {
    let (_stop_tx, stop) = watch::channel(false);
    // No peer exchange, so every connection is one of the crowd dialing the target.
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
    // Long past a peer exchange and a redial round.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let peers: Vec<PeerId> = validator.peers().iter().map(|p| p.peer_id).collect();
    assert_eq!(peers, vec![sentry.local_peer_id()]);
}
