//! Read replicas: PostgreSQL streaming standbys that serve reads and search, within a bound on
//! how far behind they may be, with read-your-writes and migrations that wait for them.
//!
//! `DATABASE_READ_URL` (comma-separated) names the replicas; `init()` opens a pool for each
//! with the primary's settings. [`read`] hands out a read-only transaction on a usable replica
//! or the primary, and `rag::search` on `init()`'s pool runs on one. With no
//! `DATABASE_READ_URL`, nothing changes: every read goes to the primary.
//!
//! # Lag: bytes of WAL, measured from positions
//!
//! A replica is usable while `pg_current_wal_*_lsn()` on the primary minus
//! `pg_last_wal_replay_lsn()` on the replica is at most `APP_DB_MAX_REPLICA_LAG` (16 MB by
//! default). Why bytes:
//! - both numbers are exact, read from the two servers, with no clock involved; an idle
//!   primary gives a lag of 0, however long ago its last commit was (the timestamp of the last
//!   replayed transaction, `pg_last_xact_replay_timestamp()`, stands still then, and a lag in
//!   time computed from it grows without anything being missed);
//! - WAL left to replay is what a reader can be missing, and what the replica must work through
//!   before it is current: a replica whose replay is paused or stuck behind a long query grows
//!   it at the primary's write rate and is skipped once past the bound;
//! - a lag in time from positions would need a history of the primary's position with its
//!   clock, sampled at least as often as the bound; a byte bound needs one reading.
//!
//! The cost is that a bound in bytes is not a bound in seconds: at 5 MB/s of WAL, 16 MB is
//! about 3 s behind. Reads that must see a given write ask for it explicitly
//! ([`read_after`]), which does not depend on the bound at all.
//!
//! # Files
//! - `lsn.rs` — [`WalPosition`]: `pg_lsn` text, distances, the position to wait for (pure).
//! - `route.rs` — which server serves a read, and retry backoff (pure, table tests).
//! - `probe.rs` — the statements: the primary's position, a standby's replay state.
//! - `pools.rs` — [`ReplicaPool`]: one pool per replica with the primary's bounds.
//! - `router.rs` — [`ReplicaSet`]: the measurements, their renewal, failover, the reads.
//! - `read.rs` — [`Read`]: the read-only transaction handed out, and where it runs.
//! - `wait.rs` — waiting for every replica to replay a position (migrations).
//! - `global.rs` — the sets `init()` attached, [`read`], [`read_after`], [`wal_position`].

mod global;
mod lsn;
pub mod pools;
pub mod probe;
mod read;
pub mod route;
mod router;
pub mod wait;

pub(crate) use global::{attach, begin_read_only};
pub use global::{for_pool, read, read_after, wal_position};
pub use lsn::{BadWalPosition, WalPosition};
pub use pools::ReplicaPool;
pub use read::{Read, Served};
pub use router::{ReplicaSet, ReplicaView};
