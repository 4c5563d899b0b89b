//! WAL positions (`pg_lsn`): parsing PostgreSQL's `X/Y` text, distances in bytes, and the
//! position a reader must wait for after a write. Pure.

use std::fmt;
use std::str::FromStr;

/// A position in the primary's write-ahead log (PostgreSQL's `pg_lsn`): a byte offset into
/// the WAL stream. A standby that has replayed past a position has every transaction that
/// committed before it.
///
/// Get one after a write with [`crate::replica::wal_position`] and pass it to
/// [`crate::replica::read_after`] to read your own writes from a replica.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WalPosition(pub u64);

/// The size of a WAL page header right after a page boundary (`SizeOfXLogShortPHD`).
const SHORT_PAGE_HEADER: u64 = 24;
/// The size of the header of a segment's first page (`SizeOfXLogLongPHD` on 64-bit builds).
const LONG_PAGE_HEADER: u64 = 40;

impl WalPosition {
    /// Bytes from `earlier` to `self` (0 when `earlier` is not earlier).
    pub fn bytes_after(self, earlier: WalPosition) -> u64 {
        self.0.saturating_sub(earlier.0)
    }

    /// The position a standby's `pg_last_wal_replay_lsn()` reaches once it has replayed
    /// everything before `self`, where `self` is an insert position
    /// (`pg_current_wal_insert_lsn()`) and `wal_block_size` the server's WAL page size.
    ///
    /// When the last record ends exactly at a page boundary, PostgreSQL reports the insert
    /// position *after the next page's header* (where the next record will start), while a
    /// standby reports the end of the last record it replayed: the boundary itself. Waiting for
    /// the insert position would then wait for a record that has not been written yet. No
    /// record can end 24 or 40 bytes into a page (the smallest record is 24 bytes, after a
    /// header of 24 or 40), so those offsets always mean "right after a header".
    pub fn replayable(self, wal_block_size: u64) -> WalPosition {
        if wal_block_size == 0 {
            return self;
        }
        match self.0 % wal_block_size {
            offset @ (SHORT_PAGE_HEADER | LONG_PAGE_HEADER) => WalPosition(self.0 - offset),
            _ => self,
        }
    }
}

impl fmt::Display for WalPosition {
    /// PostgreSQL's own form, `16/B374D848`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:X}/{:X}", self.0 >> 32, self.0 & 0xFFFF_FFFF)
    }
}

/// A text that is not a `pg_lsn`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadWalPosition(pub String);

impl fmt::Display for BadWalPosition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?} is not a WAL position (two hexadecimal numbers separated by a slash, e.g. 0/16B3748)",
            self.0
        )
    }
}

impl std::error::Error for BadWalPosition {}

impl FromStr for WalPosition {
    type Err = BadWalPosition;

    /// Parses PostgreSQL's `X/Y` (hexadecimal, each at most 32 bits).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || BadWalPosition(text.to_string());
        let (high, low) = text.trim().split_once('/').ok_or_else(bad)?;
        let part = |s: &str| {
            if s.is_empty() || s.len() > 8 {
                return None;
            }
            u32::from_str_radix(s, 16).ok()
        };
        let (high, low) = (part(high).ok_or_else(bad)?, part(low).ok_or_else(bad)?);
        Ok(WalPosition((u64::from(high) << 32) | u64::from(low)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_read_and_print_as_postgres_does() {
        for text in ["0/0", "0/16B3748", "16/B374D848", "FFFFFFFF/FFFFFFFF"] {
            let lsn: WalPosition = text.parse().unwrap();
            assert_eq!(lsn.to_string(), text);
        }
        assert_eq!(
            "16/B374D848".parse::<WalPosition>().unwrap().0,
            0x16_B374_D848
        );
        assert_eq!(
            "0/16b3748".parse::<WalPosition>().unwrap(),
            WalPosition(0x16B3748)
        );
        for bad in ["", "0", "/1", "1/", "x/1", "1/2/3", "123456789/0", "-1/0"] {
            assert!(bad.parse::<WalPosition>().is_err(), "{bad:?}");
        }
        let message = "nope".parse::<WalPosition>().unwrap_err().to_string();
        assert!(message.contains("\"nope\"") && message.contains("0/16B3748"));
    }

    #[test]
    fn distances_are_bytes_and_never_negative() {
        let a = WalPosition(0x1_0000_0000);
        let b = WalPosition(0x0_FFFF_FF00);
        assert_eq!(a.bytes_after(b), 0x100);
        assert_eq!(b.bytes_after(a), 0);
        assert!(b < a);
    }

    #[test]
    fn an_insert_position_after_a_page_header_means_the_boundary() {
        let page = 8192;
        // Right after a short header: the previous record ended at the boundary.
        assert_eq!(
            WalPosition(5 * page + 24).replayable(page),
            WalPosition(5 * page)
        );
        // After the long header of a segment's first page.
        let segment = 16 * 1024 * 1024;
        assert_eq!(
            WalPosition(3 * segment + 40).replayable(page),
            WalPosition(3 * segment)
        );
        // Anywhere else the position is a record's end already.
        for offset in [0, 8, 48, 64, 8184] {
            let lsn = WalPosition(5 * page + offset);
            assert_eq!(lsn.replayable(page), lsn, "offset {offset}");
        }
        // An unknown block size changes nothing.
        assert_eq!(WalPosition(24).replayable(0), WalPosition(24));
    }
}
