//! Which server serves a read: a pure decision from what the router knows about each replica
//! (reachability, replay position and lag at the last check, failures) and what the read asks
//! for (a lag bound, a WAL position to read after). The I/O that gathers these facts is in
//! `probe.rs` and `router.rs`.

use std::time::Duration;

use super::WalPosition;

/// What the router knows about one replica.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Health {
    /// Not checked yet.
    Unchecked,
    /// Answered its last check: a standby that had replayed up to `replay` while the
    /// primary was at `primary`.
    Up {
        /// `pg_last_wal_replay_lsn()` at the check.
        replay: WalPosition,
        /// The primary's position read just before the check.
        primary: WalPosition,
    },
    /// Failed a check or a read (down, silent, not a standby): skipped until retried.
    Down {
        /// How long until it is tried again.
        retry_in: Duration,
        /// Failures in a row.
        failures: u32,
        /// What went wrong, for the log (URL redacted).
        error: String,
    },
}

impl Health {
    /// Bytes of WAL the replica had still to replay at its check.
    pub fn lag_bytes(&self) -> Option<u64> {
        match self {
            Health::Up { replay, primary } => Some(primary.bytes_after(*replay)),
            _ => None,
        }
    }
}

/// What one read asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Request {
    /// Skip a replica more than this many bytes of WAL behind the primary.
    pub max_lag_bytes: u64,
    /// Read-your-writes: only a replica that has replayed this position may serve.
    pub after: Option<WalPosition>,
    /// The position every replica must have replayed before it serves this process at all
    /// (the primary's position after the migrations this process booted with).
    pub floor: WalPosition,
    /// Whether the read may still wait for a replica to reach `after`.
    pub may_wait: bool,
    /// Spreads reads over the usable replicas in turn.
    pub turn: usize,
}

/// Why a replica did not serve a read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Skip {
    /// Never checked.
    Unchecked,
    /// Down, silent, or not a standby: retried later.
    Down {
        /// How long until it is tried again.
        retry_in: Duration,
        /// Failures in a row.
        failures: u32,
        /// What went wrong.
        error: String,
    },
    /// More than the lag bound behind the primary.
    Lagging {
        /// Bytes behind at the last check.
        lag_bytes: u64,
        /// The bound.
        max_lag_bytes: u64,
    },
    /// Has not replayed the migrations this process booted with.
    BelowFloor {
        /// Its replay position.
        replay: WalPosition,
        /// The floor.
        floor: WalPosition,
    },
    /// Has not replayed the position the read asked for.
    Behind {
        /// Its replay position.
        replay: WalPosition,
        /// The position asked for.
        after: WalPosition,
    },
}

impl std::fmt::Display for Skip {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Skip::Unchecked => write!(f, "not checked yet"),
            Skip::Down {
                retry_in,
                failures,
                error,
            } => write!(
                f,
                "unusable ({error}); {failures} failure(s) in a row, retried in {retry_in:?}"
            ),
            Skip::Lagging {
                lag_bytes,
                max_lag_bytes,
            } => write!(
                f,
                "{lag_bytes} bytes of WAL behind the primary, over the bound of {max_lag_bytes} (APP_DB_MAX_REPLICA_LAG)"
            ),
            Skip::BelowFloor { replay, floor } => write!(
                f,
                "replayed up to {replay}, not yet the migrations this process booted with ({floor})"
            ),
            Skip::Behind { replay, after } => write!(
                f,
                "replayed up to {replay}, not yet the write the read waits for ({after})"
            ),
        }
    }
}

/// Where a read goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    /// Replica `index` serves it.
    Replica {
        /// Position in the configured list.
        index: usize,
        /// The replicas passed over, and why.
        skipped: Vec<(usize, Skip)>,
    },
    /// No replica may serve it yet, but these are within the lag bound and only behind the
    /// position asked for: check them again before giving up.
    Wait {
        /// The replicas worth waiting for.
        indexes: Vec<usize>,
        /// The replicas passed over, and why.
        skipped: Vec<(usize, Skip)>,
    },
    /// The primary serves it.
    Primary {
        /// The replicas passed over, and why (empty when none is configured).
        skipped: Vec<(usize, Skip)>,
    },
}

/// The route for one read.
///
/// 1. A replica is usable when its last check answered, it is at most `max_lag_bytes` behind
///    the primary, and it has replayed the boot `floor`.
/// 2. With `after`, a usable replica must also have replayed `after`; the usable ones that
///    have not are waited for while `may_wait`.
/// 3. The usable replicas serve in turn (`turn` modulo their number); with none, the primary.
pub fn route(replicas: &[Health], request: &Request) -> Route {
    let mut usable = Vec::new();
    let mut behind = Vec::new();
    let mut skipped = Vec::new();
    for (index, health) in replicas.iter().enumerate() {
        let (replay, primary) = match health {
            Health::Unchecked => {
                skipped.push((index, Skip::Unchecked));
                continue;
            }
            Health::Down {
                retry_in,
                failures,
                error,
            } => {
                skipped.push((
                    index,
                    Skip::Down {
                        retry_in: *retry_in,
                        failures: *failures,
                        error: error.clone(),
                    },
                ));
                continue;
            }
            Health::Up { replay, primary } => (*replay, *primary),
        };
        let lag_bytes = primary.bytes_after(replay);
        if lag_bytes > request.max_lag_bytes {
            skipped.push((
                index,
                Skip::Lagging {
                    lag_bytes,
                    max_lag_bytes: request.max_lag_bytes,
                },
            ));
        } else if replay < request.floor {
            skipped.push((
                index,
                Skip::BelowFloor {
                    replay,
                    floor: request.floor,
                },
            ));
        } else if let Some(after) = request.after.filter(|after| replay < *after) {
            behind.push((index, Skip::Behind { replay, after }));
        } else {
            usable.push(index);
        }
    }
    if !usable.is_empty() {
        skipped.extend(behind);
        skipped.sort_by_key(|(index, _)| *index);
        return Route::Replica {
            index: usable[request.turn % usable.len()],
            skipped,
        };
    }
    if request.may_wait && !behind.is_empty() {
        return Route::Wait {
            indexes: behind.iter().map(|(index, _)| *index).collect(),
            skipped,
        };
    }
    skipped.extend(behind);
    skipped.sort_by_key(|(index, _)| *index);
    Route::Primary { skipped }
}

/// How long a replica that failed `failures` times in a row is left alone: `first`, doubled
/// with each further failure, at most `max`.
pub fn retry_after(failures: u32, first: Duration, max: Duration) -> Duration {
    let doublings = failures.saturating_sub(1).min(20);
    first.saturating_mul(1 << doublings).min(max)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MB: u64 = 1024 * 1024;

    fn up(replay: u64, primary: u64) -> Health {
        Health::Up {
            replay: WalPosition(replay),
            primary: WalPosition(primary),
        }
    }

    fn down() -> Health {
        Health::Down {
            retry_in: Duration::from_secs(2),
            failures: 2,
            error: "connection refused".into(),
        }
    }

    fn request() -> Request {
        Request {
            max_lag_bytes: 16 * MB,
            after: None,
            floor: WalPosition(0),
            may_wait: true,
            turn: 0,
        }
    }

    fn served_by(route: &Route) -> Option<usize> {
        match route {
            Route::Replica { index, .. } => Some(*index),
            _ => None,
        }
    }

    #[test]
    fn without_replicas_the_primary_serves() {
        assert_eq!(
            route(&[], &request()),
            Route::Primary {
                skipped: Vec::new()
            }
        );
    }

    #[test]
    fn usable_replicas_serve_in_turn() {
        let replicas = [up(100, 100), down(), up(90, 100)];
        let served: Vec<Option<usize>> = (0..4)
            .map(|turn| served_by(&route(&replicas, &Request { turn, ..request() })))
            .collect();
        assert_eq!(served, [Some(0), Some(2), Some(0), Some(2)]);
        match route(&replicas, &request()) {
            Route::Replica { skipped, .. } => {
                assert_eq!(skipped.len(), 1);
                assert!(matches!(skipped[0], (1, Skip::Down { failures: 2, .. })));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_lag_bound_is_bytes_of_wal_behind_the_primary() {
        let table = [
            // (replay, primary, bound, served)
            (0, 16 * MB, 16 * MB, true),
            (0, 16 * MB + 1, 16 * MB, false),
            // An idle primary: no WAL to replay, no lag, however long ago the last commit was.
            (5 * MB, 5 * MB, 0, true),
            // A replica ahead of the primary's (earlier) reading is not behind.
            (6 * MB, 5 * MB, 0, true),
        ];
        for (replay, primary, bound, served) in table {
            let r = Request {
                max_lag_bytes: bound,
                ..request()
            };
            let route = route(&[up(replay, primary)], &r);
            assert_eq!(
                served_by(&route).is_some(),
                served,
                "{replay} {primary} {bound}: {route:?}"
            );
            if !served {
                assert_eq!(
                    route,
                    Route::Primary {
                        skipped: vec![(
                            0,
                            Skip::Lagging {
                                lag_bytes: primary - replay,
                                max_lag_bytes: bound
                            }
                        )]
                    }
                );
            }
        }
    }

    #[test]
    fn down_and_unchecked_replicas_are_skipped_for_the_primary() {
        let route = route(&[down(), Health::Unchecked], &request());
        match route {
            Route::Primary { skipped } => {
                assert!(matches!(skipped[0], (0, Skip::Down { .. })));
                assert_eq!(skipped[1], (1, Skip::Unchecked));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn read_your_writes_waits_only_for_replicas_worth_waiting_for() {
        let after = Some(WalPosition(200));
        // One replica has the write: it serves, the other is noted as behind.
        let r = route(
            &[up(150, 300), up(250, 300)],
            &Request { after, ..request() },
        );
        assert_eq!(served_by(&r), Some(1));
        // None has it yet: wait for the ones within the lag bound.
        let lagging = Request {
            after,
            max_lag_bytes: 100,
            ..request()
        };
        match route(&[up(150, 210), up(10, 300), down()], &lagging) {
            Route::Wait { indexes, skipped } => {
                assert_eq!(indexes, [0]);
                assert_eq!(skipped.len(), 2);
            }
            other => panic!("{other:?}"),
        }
        // The wait is over: the primary, with every reason.
        match route(
            &[up(150, 210)],
            &Request {
                may_wait: false,
                ..lagging
            },
        ) {
            Route::Primary { skipped } => assert_eq!(
                skipped,
                [(
                    0,
                    Skip::Behind {
                        replay: WalPosition(150),
                        after: WalPosition(200)
                    }
                )]
            ),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_replica_below_the_boot_floor_never_serves_and_is_not_waited_for() {
        let r = Request {
            floor: WalPosition(500),
            ..request()
        };
        assert_eq!(
            route(&[up(400, 400)], &r),
            Route::Primary {
                skipped: vec![(
                    0,
                    Skip::BelowFloor {
                        replay: WalPosition(400),
                        floor: WalPosition(500)
                    }
                )]
            }
        );
        assert_eq!(served_by(&route(&[up(500, 600)], &r)), Some(0));
    }

    #[test]
    fn skip_reasons_read_as_sentences() {
        let lagging = Skip::Lagging {
            lag_bytes: 20,
            max_lag_bytes: 10,
        };
        assert!(lagging.to_string().contains("APP_DB_MAX_REPLICA_LAG"));
        let behind = Skip::Behind {
            replay: WalPosition(0x10),
            after: WalPosition(0x20),
        };
        assert_eq!(
            behind.to_string(),
            "replayed up to 0/10, not yet the write the read waits for (0/20)"
        );
    }

    #[test]
    fn retries_back_off_by_doubling_up_to_the_bound() {
        let (first, max) = (Duration::from_secs(1), Duration::from_secs(30));
        let waits: Vec<u64> = (1..=7)
            .map(|n| retry_after(n, first, max).as_secs())
            .collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 30, 30]);
        assert_eq!(retry_after(0, first, max), first);
        assert_eq!(retry_after(u32::MAX, first, max), max);
    }
}
