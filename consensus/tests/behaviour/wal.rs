//! The WAL's framing at its exact boundaries, and what a crash or a reset leaves.

use tensorchain_consensus::wal::{frame, unframe, Recovered};
use tensorchain_consensus::{FileWal, MemoryWal, Wal};

#[test]
fn a_frame_is_length_crc_and_payload() {
    let f = frame(b"abc");
    assert_eq!(&f[0..4], &3u32.to_le_bytes());
    assert_eq!(&f[4..8], &crc32fast::hash(b"abc").to_le_bytes());
    assert_eq!(&f[8..], b"abc");
    assert_eq!(frame(b"").len(), 8);
}

#[test]
fn empty_records_and_exact_ends_are_intact() {
    let mut bytes = frame(b"");
    bytes.extend(frame(b"x"));
    bytes.extend(frame(b""));
    let (rec, intact) = unframe(&bytes);
    assert_eq!(
        rec,
        Recovered {
            records: vec![vec![], b"x".to_vec(), vec![]],
            corrupt_tail: None
        }
    );
    assert_eq!(intact, bytes.len());
    assert_eq!(unframe(&[]), (Recovered::default(), 0));
}

#[test]
fn each_kind_of_damage_is_named_with_its_offset_and_cut_there() {
    let good = frame(b"first");
    let at = good.len();
    let mut torn_header = good.clone();
    torn_header.extend_from_slice(&[1, 0, 0, 0, 0, 0, 0]);
    let mut torn_record = good.clone();
    torn_record.extend_from_slice(&frame(b"second")[..10]);
    let mut bad_crc = good.clone();
    let mut second = frame(b"second");
    second[4] ^= 1;
    bad_crc.extend(second);
    let mut huge = good.clone();
    huge.extend_from_slice(&(16u32 * 1024 * 1024 + 1).to_le_bytes());
    huge.extend_from_slice(&[0; 4]);
    for (bytes, why) in [
        (torn_header, format!("torn frame header at byte {at}")),
        (torn_record, format!("torn record at byte {at}")),
        (bad_crc, format!("checksum mismatch at byte {at}")),
        (
            huge,
            format!("impossible record length 16777217 at byte {at}"),
        ),
    ] {
        let (rec, intact) = unframe(&bytes);
        assert_eq!(rec.records, vec![b"first".to_vec()]);
        assert_eq!(rec.corrupt_tail.as_deref(), Some(why.as_str()));
        assert_eq!(intact, at);
    }
}

#[test]
fn the_largest_record_is_accepted() {
    let big = vec![7u8; 16 * 1024 * 1024];
    let (rec, intact) = unframe(&frame(&big));
    assert_eq!(rec.corrupt_tail, None);
    assert_eq!(rec.records.len(), 1);
    assert_eq!(intact, big.len() + 8);
}

#[test]
fn a_memory_wal_cut_at_a_corrupt_tail_loses_later_unsynced_records_on_a_crash() {
    let mut wal = MemoryWal::default();
    for r in [&b"one"[..], b"two", b"three"] {
        wal.append(r).unwrap();
    }
    wal.sync().unwrap();
    let last = wal.bytes.len() - 1;
    wal.bytes[last] ^= 1;
    assert_eq!(wal.load().unwrap().records.len(), 2);
    // Everything after the cut is new and unsynced: a crash loses it whole.
    wal.append(b"four-and-more").unwrap();
    wal.crash();
    let rec = wal.load().unwrap();
    assert_eq!(rec.records, vec![b"one".to_vec(), b"two".to_vec()]);
    assert_eq!(rec.corrupt_tail, None);
}

#[test]
fn reset_empties_both_wals() {
    let mut wal = MemoryWal::default();
    wal.append(b"one").unwrap();
    wal.sync().unwrap();
    wal.reset().unwrap();
    assert!(wal.bytes.is_empty());
    wal.append(b"unsynced").unwrap();
    wal.crash();
    assert_eq!(wal.load().unwrap(), Recovered::default());

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wal");
    let mut file = FileWal::open(&path).unwrap();
    file.append(b"one").unwrap();
    file.sync().unwrap();
    file.reset().unwrap();
    assert_eq!(std::fs::metadata(&path).unwrap().len(), 0);
    file.append(b"two").unwrap();
    file.sync().unwrap();
    let rec = FileWal::open(&path).unwrap().load().unwrap();
    assert_eq!(rec.records, vec![b"two".to_vec()]);
}

#[test]
fn a_file_wal_cuts_a_corrupt_tail_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wal");
    let mut file = FileWal::open(&path).unwrap();
    file.append(b"one").unwrap();
    file.append(b"two").unwrap();
    file.sync().unwrap();
    let mut bytes = std::fs::read(&path).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&path, &bytes).unwrap();
    let rec = FileWal::open(&path).unwrap().load().unwrap();
    assert_eq!(rec.records, vec![b"one".to_vec()]);
    assert!(rec.corrupt_tail.is_some());
    assert_eq!(
        std::fs::metadata(&path).unwrap().len(),
        frame(b"one").len() as u64
    );
}
