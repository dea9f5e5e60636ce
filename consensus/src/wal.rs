//! The write-ahead log: CRC-framed records (`len u32 | crc32 u32 | payload`, little endian). A torn
//! or corrupt tail is detected on load and reported, never trusted.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;
use thiserror::Error;

/// No record is this large; a length above it means the frame is corrupt.
const MAX_RECORD: usize = 16 * 1024 * 1024;

#[derive(Debug, Error)]
pub enum WalError {
    #[error("write-ahead log I/O failed: {0}")]
    Io(#[from] std::io::Error),
}

/// What a WAL held: every intact record, and why reading stopped early, if it did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Recovered {
    pub records: Vec<Vec<u8>>,
    pub corrupt_tail: Option<String>,
}

pub trait Wal {
    /// Adds a record; durable only after `sync`.
    fn append(&mut self, record: &[u8]) -> Result<(), WalError>;
    fn sync(&mut self) -> Result<(), WalError>;
    /// Drops every record, durably.
    fn reset(&mut self) -> Result<(), WalError>;
    /// Reads the log; a corrupt tail is cut off (and reported).
    fn load(&mut self) -> Result<Recovered, WalError>;
}

pub fn frame(record: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(record.len() + 8);
    out.extend_from_slice(&(record.len() as u32).to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(record).to_le_bytes());
    out.extend_from_slice(record);
    out
}

/// Decodes frames; returns the records and the length of the intact prefix.
pub fn unframe(bytes: &[u8]) -> (Recovered, usize) {
    let mut rec = Recovered::default();
    let mut at = 0;
    while at < bytes.len() {
        let rest = &bytes[at..];
        if rest.len() < 8 {
            rec.corrupt_tail = Some(format!("torn frame header at byte {at}"));
            break;
        }
        let len = u32::from_le_bytes(rest[0..4].try_into().expect("4 bytes")) as usize;
        let crc = u32::from_le_bytes(rest[4..8].try_into().expect("4 bytes"));
        if len > MAX_RECORD {
            rec.corrupt_tail = Some(format!("impossible record length {len} at byte {at}"));
            break;
        }
        if rest.len() < 8 + len {
            rec.corrupt_tail = Some(format!("torn record at byte {at}"));
            break;
        }
        let payload = &rest[8..8 + len];
        if crc32fast::hash(payload) != crc {
            rec.corrupt_tail = Some(format!("checksum mismatch at byte {at}"));
            break;
        }
        rec.records.push(payload.to_vec());
        at += 8 + len;
    }
    (rec, at)
}

/// An in-memory WAL that models durability: a crash loses whatever was not synced.
#[derive(Debug, Default, Clone)]
pub struct MemoryWal {
    pub bytes: Vec<u8>,
    synced: usize,
}

impl MemoryWal {
    /// Loses everything appended since the last sync, as a power cut would.
    pub fn crash(&mut self) {
        self.bytes.truncate(self.synced);
    }
}

impl Wal for MemoryWal {
    fn append(&mut self, record: &[u8]) -> Result<(), WalError> {
        self.bytes.extend_from_slice(&frame(record));
        Ok(())
    }

    fn sync(&mut self) -> Result<(), WalError> {
        self.synced = self.bytes.len();
        Ok(())
    }

    fn reset(&mut self) -> Result<(), WalError> {
        self.bytes.clear();
        self.synced = 0;
        Ok(())
    }

    fn load(&mut self) -> Result<Recovered, WalError> {
        let (rec, intact) = unframe(&self.bytes);
        self.bytes.truncate(intact);
        self.synced = self.synced.min(intact);
        Ok(rec)
    }
}

/// The WAL in a file, fsynced on `sync`.
pub struct FileWal {
    file: File,
}

impl FileWal {
    pub fn open(path: &Path) -> Result<FileWal, WalError> {
        let file = OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(path)?;
        Ok(FileWal { file })
    }
}

impl Wal for FileWal {
    fn append(&mut self, record: &[u8]) -> Result<(), WalError> {
        self.file.write_all(&frame(record))?;
        Ok(())
    }

    fn sync(&mut self) -> Result<(), WalError> {
        self.file.sync_data()?;
        Ok(())
    }

    fn reset(&mut self) -> Result<(), WalError> {
        self.file.set_len(0)?;
        self.file.sync_all()?;
        Ok(())
    }

    fn load(&mut self) -> Result<Recovered, WalError> {
        let mut bytes = Vec::new();
        self.file.seek(SeekFrom::Start(0))?;
        self.file.read_to_end(&mut bytes)?;
        let (rec, intact) = unframe(&bytes);
        if intact < bytes.len() {
            self.file.set_len(intact as u64)?;
            self.file.sync_all()?;
        }
        Ok(rec)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_three(wal: &mut impl Wal) {
        for r in [&b"one"[..], b"two", b"three"] {
            wal.append(r).unwrap();
        }
        wal.sync().unwrap();
    }

    #[test]
    fn file_wal_round_trips_and_cuts_a_torn_tail() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("wal");
        write_three(&mut FileWal::open(&path).unwrap());
        let len = std::fs::metadata(&path).unwrap().len();
        // A crash mid-write: the last record is cut short.
        OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(len - 2)
            .unwrap();
        let mut wal = FileWal::open(&path).unwrap();
        let rec = wal.load().unwrap();
        assert_eq!(rec.records, vec![b"one".to_vec(), b"two".to_vec()]);
        assert!(rec.corrupt_tail.unwrap().contains("torn"));
        // The torn bytes are gone; new records append after the intact prefix.
        wal.append(b"four").unwrap();
        wal.sync().unwrap();
        let rec = FileWal::open(&path).unwrap().load().unwrap();
        assert_eq!(rec.records.len(), 3);
        assert_eq!(rec.corrupt_tail, None);
    }

    #[test]
    fn a_flipped_bit_is_detected() {
        let mut wal = MemoryWal::default();
        write_three(&mut wal);
        let last = wal.bytes.len() - 1;
        wal.bytes[last] ^= 0x40;
        let rec = wal.load().unwrap();
        assert_eq!(rec.records.len(), 2);
        assert!(rec.corrupt_tail.unwrap().contains("checksum"));
        let mut huge = MemoryWal {
            bytes: vec![0xff; 16],
            ..MemoryWal::default()
        };
        assert!(huge
            .load()
            .unwrap()
            .corrupt_tail
            .unwrap()
            .contains("impossible"));
    }

    #[test]
    fn a_crash_loses_only_unsynced_records() {
        let mut wal = MemoryWal::default();
        write_three(&mut wal);
        wal.append(b"unsynced").unwrap();
        wal.crash();
        assert_eq!(wal.load().unwrap().records.len(), 3);
    }
}
