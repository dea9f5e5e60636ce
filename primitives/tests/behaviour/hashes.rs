//! Every hash the protocol commits to is pinned to its definition: blake3 over the borsh encoding,
//! behind the domain tag where there is one. A hash that returned zeros, or dropped its domain,
//! would let different blocks, transactions or votes share an identity.

use tensorchain_primitives::{
    merkle_root, validator_set_hash, weights_commit_hash, AccountId, Block, Call, Commit,
    CommitSig, Hash, Header, Keypair, SignedTx, SigningDomain, Tx, Validator, Vote, VoteKind,
};

fn net() -> SigningDomain {
    SigningDomain::new("test", Hash::digest(b"genesis"))
}

fn blake3_of(parts: &[&[u8]]) -> Hash {
    let mut h = blake3::Hasher::new();
    for p in parts {
        h.update(p);
    }
    Hash(*h.finalize().as_bytes())
}

fn header() -> Header {
    Header {
        chain_id: "test".into(),
        height: 7,
        time_ms: 1_000,
        parent_hash: Hash::digest(b"parent"),
        tx_root: Hash::digest(b"txs"),
        state_root: Hash::digest(b"state"),
        proposer: Keypair::dev("alice").account(),
        validator_set_hash: Hash::digest(b"set"),
        next_validator_set_hash: Hash::digest(b"next set"),
        last_commit_hash: Hash::digest(b"commit"),
    }
}

fn transfer(nonce: u64) -> SignedTx {
    let alice = Keypair::dev("alice");
    Tx {
        chain_id: "test".into(),
        signer: alice.account(),
        nonce,
        fee: 100,
        call: Call::Transfer {
            to: Keypair::dev("bob").account(),
            amount: 5,
        },
    }
    .sign(&alice, &net())
}

#[test]
fn digest_and_digest_parts_are_blake3_with_the_domain_first() {
    assert_eq!(Hash::digest(b"abc"), blake3_of(&[b"abc"]));
    assert_eq!(
        Hash::digest_parts(b"dom", &[b"a", b"bc"]),
        blake3_of(&[b"dom", b"a", b"bc"])
    );
    assert_ne!(
        Hash::digest_parts(b"dom", &[b"abc"]),
        Hash::digest_parts(b"other", &[b"abc"])
    );
    assert_eq!(Hash::digest(b"abc").as_bytes(), &Hash::digest(b"abc").0);
}

#[test]
fn header_and_block_hash_are_blake3_of_the_borsh_header() {
    let h = header();
    let want = blake3_of(&[&borsh::to_vec(&h).unwrap()]);
    assert_eq!(h.hash(), want);
    let block = Block {
        header: h.clone(),
        txs: vec![transfer(0)],
        last_commit: None,
    };
    assert_eq!(block.hash(), want, "a block is named by its header");
    // Every field takes part.
    let variants: Vec<Header> = vec![
        Header {
            chain_id: "other".into(),
            ..h.clone()
        },
        Header {
            height: 8,
            ..h.clone()
        },
        Header {
            time_ms: 1_001,
            ..h.clone()
        },
        Header {
            parent_hash: Hash::ZERO,
            ..h.clone()
        },
        Header {
            tx_root: Hash::ZERO,
            ..h.clone()
        },
        Header {
            state_root: Hash::ZERO,
            ..h.clone()
        },
        Header {
            proposer: Keypair::dev("bob").account(),
            ..h.clone()
        },
        Header {
            validator_set_hash: Hash::ZERO,
            ..h.clone()
        },
        Header {
            next_validator_set_hash: Hash::ZERO,
            ..h.clone()
        },
        Header {
            last_commit_hash: Hash::ZERO,
            ..h.clone()
        },
    ];
    for v in &variants {
        assert_ne!(v.hash(), want, "{v:?}");
    }
}

#[test]
fn signed_tx_hash_is_blake3_of_its_signed_bytes() {
    let stx = transfer(3);
    let bytes = stx.to_bytes();
    assert_eq!(bytes, borsh::to_vec(&stx).unwrap());
    assert_eq!(stx.hash(), blake3_of(&[&bytes]));
    assert_ne!(stx.hash(), transfer(4).hash());
    // The signing hash is domain-separated, bound to the genesis, and differs from the tx hash.
    let signing = blake3_of(&[
        b"tensorchain/tx/v2",
        net().genesis.as_bytes(),
        &borsh::to_vec(&stx.tx).unwrap(),
    ]);
    assert_eq!(stx.tx.signing_hash(&net()), signing);
    assert_eq!(
        stx.tx.signer.verify(signing.as_bytes(), &stx.signature),
        Ok(())
    );
}

#[test]
fn weights_commit_hash_binds_every_field_under_its_domain() {
    let hot = Keypair::dev("alice/hot").account();
    let (uids, values, salt) = (vec![1u16, 2], vec![100u16, 200], vec![9u8, 8, 7]);
    let got = weights_commit_hash(&hot, 3, &uids, &values, &salt, 11);
    let body = borsh::to_vec(&(&hot, 3u16, &uids[..], &values[..], &salt[..], 11u64)).unwrap();
    assert_eq!(got, blake3_of(&[b"tensorchain/weights-commit/v1", &body]));
    let other = Keypair::dev("bob/hot").account();
    for changed in [
        weights_commit_hash(&other, 3, &uids, &values, &salt, 11),
        weights_commit_hash(&hot, 4, &uids, &values, &salt, 11),
        weights_commit_hash(&hot, 3, &[1, 3], &values, &salt, 11),
        weights_commit_hash(&hot, 3, &uids, &[100, 201], &salt, 11),
        weights_commit_hash(&hot, 3, &uids, &values, &[9, 8], 11),
        weights_commit_hash(&hot, 3, &uids, &values, &salt, 12),
    ] {
        assert_ne!(changed, got);
    }
}

#[test]
fn vote_signing_hash_is_domain_separated_and_covers_every_field() {
    let vote = Vote {
        chain_id: "test".into(),
        height: 5,
        round: 1,
        kind: VoteKind::Prevote,
        block_hash: Some(Hash::digest(b"b")),
    };
    let want = blake3_of(&[
        b"tensorchain/vote/v2",
        net().genesis.as_bytes(),
        &borsh::to_vec(&vote).unwrap(),
    ]);
    assert_eq!(vote.signing_hash(&net()), want);
    let key = Keypair::dev("v");
    assert_eq!(
        key.account()
            .verify(want.as_bytes(), &vote.sign(&key, &net())),
        Ok(())
    );
    for other in [
        Vote {
            kind: VoteKind::Precommit,
            ..vote.clone()
        },
        Vote {
            block_hash: None,
            ..vote.clone()
        },
        Vote {
            round: 2,
            ..vote.clone()
        },
    ] {
        assert_ne!(other.signing_hash(&net()), want);
    }
    for other_network in [
        SigningDomain::new("test", Hash::digest(b"another genesis")),
        SigningDomain::new("another chain", net().genesis),
    ] {
        // The chain id travels in the vote; only the genesis is mixed in.
        assert_eq!(
            vote.signing_hash(&other_network) == want,
            other_network.genesis == net().genesis
        );
    }
}

#[test]
fn commit_hash_is_blake3_of_the_borsh_commit() {
    let key = Keypair::dev("v");
    let block = Block {
        header: header(),
        txs: vec![],
        last_commit: None,
    };
    let commit = Commit::signed_by(&block, &net(), &[&key]);
    assert_eq!(
        commit.hash(),
        blake3_of(&[&borsh::to_vec(&commit).unwrap()])
    );
    let mut fewer = commit.clone();
    fewer.signatures.clear();
    assert_ne!(fewer.hash(), commit.hash());
}

#[test]
fn signed_by_certifies_the_block_at_round_zero() {
    let keys = [Keypair::dev("a"), Keypair::dev("b")];
    let block = Block {
        header: header(),
        txs: vec![],
        last_commit: None,
    };
    let commit = Commit::signed_by(&block, &net(), &[&keys[0], &keys[1]]);
    assert_eq!(
        (commit.height, commit.round, commit.block_hash),
        (7, 0, block.hash())
    );
    let vote = commit.precommit(&net());
    assert_eq!(
        vote,
        Vote {
            chain_id: "test".into(),
            height: 7,
            round: 0,
            kind: VoteKind::Precommit,
            block_hash: Some(block.hash()),
        }
    );
    assert_eq!(commit.signatures.len(), 2);
    for (sig, key) in commit.signatures.iter().zip(&keys) {
        assert_eq!(
            sig,
            &CommitSig {
                validator: key.account(),
                signature: vote.sign(key, &net()),
            }
        );
    }
}

fn leaf(h: &Hash) -> Hash {
    blake3_of(&[&[0], h.as_bytes()])
}

fn node(a: &Hash, b: &Hash) -> Hash {
    blake3_of(&[&[1], a.as_bytes(), b.as_bytes()])
}

#[test]
fn merkle_root_is_the_tagged_binary_tree() {
    let [a, b, c, d, e] = [b"a", b"b", b"c", b"d", b"e"].map(|x| Hash::digest(x));
    assert_eq!(merkle_root(&[]), Hash::ZERO);
    assert_eq!(merkle_root(&[a]), leaf(&a));
    assert_eq!(merkle_root(&[a, b]), node(&leaf(&a), &leaf(&b)));
    // An odd node is carried up unchanged.
    let ab = node(&leaf(&a), &leaf(&b));
    assert_eq!(merkle_root(&[a, b, c]), node(&ab, &leaf(&c)));
    let cd = node(&leaf(&c), &leaf(&d));
    assert_eq!(merkle_root(&[a, b, c, d]), node(&ab, &cd));
    assert_eq!(
        merkle_root(&[a, b, c, d, e]),
        node(&node(&ab, &cd), &leaf(&e))
    );
}

#[test]
fn validator_set_hash_ignores_order_but_not_content() {
    let v = |n: &str, power| Validator {
        hotkey: Keypair::dev(n).account(),
        power,
    };
    let set = vec![v("a", 1), v("b", 2), v("c", 3)];
    let mut shuffled = set.clone();
    shuffled.reverse();
    shuffled.swap(0, 1);
    let h = validator_set_hash(&set);
    assert_eq!(h, validator_set_hash(&shuffled));
    let mut sorted = set.clone();
    sorted.sort_by_key(|v| v.hotkey);
    assert_eq!(
        h,
        blake3_of(&[
            b"tensorchain/validators/v1",
            &borsh::to_vec(&sorted).unwrap()
        ])
    );
    assert_ne!(h, validator_set_hash(&[v("a", 1), v("b", 2), v("c", 4)]));
    assert_ne!(h, validator_set_hash(&set[..2]));
    assert_ne!(validator_set_hash(&[]), Hash::ZERO);
}

#[test]
fn hash_text_forms() {
    let h = Hash::digest(b"x");
    let hex = format!("0x{}", hex::encode(h.0));
    assert_eq!(h.to_hex(), hex);
    assert_eq!(h.to_string(), hex);
    assert_eq!(format!("{h:?}"), format!("Hash({hex})"));
    assert_eq!(hex.parse::<Hash>().unwrap(), h);
    assert_eq!(hex[2..].parse::<Hash>().unwrap(), h, "the 0x is optional");
    let e = "0x12".parse::<Hash>().unwrap_err();
    assert_eq!(e.0, "0x12");
    assert!("zz".repeat(32).parse::<Hash>().is_err());
    let json = serde_json::to_string(&h).unwrap();
    assert_eq!(json, format!("\"{hex}\""));
    assert_eq!(serde_json::from_str::<Hash>(&json).unwrap(), h);
    assert!(serde_json::from_str::<Hash>("\"0x00\"").is_err());
    assert_eq!(
        AccountId(h.0).to_hex(),
        hex,
        "keys print in the same hex form"
    );
}
