//! Which search a query gets: a pure decision from the server's pgvector version, the tenant's
//! estimated share of the table, `k` and the [`SearchOptions`](super::SearchOptions).

use super::PgvectorVersion;

/// The largest `hnsw.ef_search` pgvector accepts.
pub const EF_SEARCH_MAX: u32 = 1000;
/// The bound on `hnsw.max_scan_tuples` (pgvector's own default): the worst case of an iterative
/// scan whose filter matches almost nothing.
pub const MAX_SCAN_TUPLES: u32 = 20_000;
/// A large tenant gets at least one candidate per this many of its chunks (up to the cap): its
/// topics are dense clusters of near-equidistant chunks, and on the schema's graph (m = 16,
/// ef_construction = 64) a candidate list of `ef_search / share` finds about 94% of the true
/// top 10 in a 43% tenant of 100,000 chunks, 97% at 400 (docs/bench-rag.md, "Why large tenants
/// lost recall").
pub const ROWS_PER_CANDIDATE: f64 = 100.0;

/// How one search runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    /// Every chunk of the organization compared (b-tree on `organization_id`, top-k sort).
    Exact,
    /// The HNSW index with a tenant filter.
    Index {
        /// `hnsw.ef_search` for this query.
        ef_search: u32,
        /// `Some(hnsw.max_scan_tuples)` for an iterative scan (`relaxed_order`, pgvector >= 0.8);
        /// `None` for a plain post-filtered scan.
        iterative: Option<u32>,
    },
}

/// What the decision needs to know about the tenant and the server.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Facts {
    /// pgvector's version on the server (`None`: not installed or unknown).
    pub pgvector: Option<PgvectorVersion>,
    /// Estimated chunks of the organization (`None`: no statistics yet).
    pub tenant_rows: Option<f64>,
    /// Estimated chunks in the table (`None`: no statistics yet).
    pub table_rows: Option<f64>,
    /// The table's heap pages when it was last analyzed or vacuumed (`None`: no statistics
    /// yet); the answer check's sample is drawn from them ([`super::check`]).
    pub table_pages: Option<f64>,
}

/// The tuning the decision reads, from [`SearchOptions`](super::SearchOptions).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tuning {
    /// The candidate list a tenant owning the whole table would get.
    pub ef_search: u32,
    /// Adapt to server and tenant; `false` is a plain index search with `ef_search` as given.
    pub adaptive: bool,
    /// Tenants with at most this many (estimated) chunks are searched exactly.
    pub exact_max_rows: u32,
    /// The cap on the share-scaled `ef_search` (never below `ef_search` or `k`, never above
    /// [`EF_SEARCH_MAX`]).
    pub ef_search_max: u32,
    /// `max_scan_tuples = scan_tuples_factor x ef / share`, clamped to 1,000..=[`MAX_SCAN_TUPLES`].
    pub scan_tuples_factor: u32,
}

/// The route for a search of `k` rows (`k <= 1000`, `tuning.ef_search` in 1..=1000).
///
/// 1. Not adaptive: the index, `ef_search = max(ef_search, k)`, no iterative scan.
/// 2. A tenant with at most `exact_max_rows` chunks: exact.
/// 3. Otherwise the index with `ef_search / share` candidates (share = tenant rows / table
///    rows), so that about `ef_search` of the candidates belong to the tenant after the filter,
///    and at least one per [`ROWS_PER_CANDIDATE`] of the tenant's chunks (a large tenant's
///    dense clusters need a longer list whatever its share), capped at `ef_search_max`;
///    unknown statistics count as share 1.
/// 4. On pgvector >= 0.8 that scan is iterative, so it goes on past the first candidate list
///    until `k` rows pass the filter, visiting at most `scan_tuples_factor x ef / share` tuples,
///    between 1,000 and [`MAX_SCAN_TUPLES`].
pub fn route(facts: Facts, k: u32, tuning: Tuning) -> Route {
    let floor = tuning.ef_search.max(k).min(EF_SEARCH_MAX);
    if !tuning.adaptive {
        return Route::Index {
            ef_search: floor,
            iterative: None,
        };
    }
    if facts
        .tenant_rows
        .is_some_and(|rows| rows <= f64::from(tuning.exact_max_rows))
    {
        return Route::Exact;
    }
    let share = match (facts.tenant_rows, facts.table_rows) {
        (Some(tenant), Some(table)) if table > 0.0 && tenant > 0.0 => (tenant / table).min(1.0),
        _ => 1.0,
    };
    let dense = facts.tenant_rows.unwrap_or(0.0) / ROWS_PER_CANDIDATE;
    let scaled = (f64::from(tuning.ef_search) / share).max(dense).ceil();
    let cap = tuning.ef_search_max.min(EF_SEARCH_MAX);
    let ef_search = (scaled.min(f64::from(cap)) as u32).max(floor);
    let iterative = facts
        .pgvector
        .is_some_and(PgvectorVersion::has_iterative_scan)
        .then(|| {
            (f64::from(tuning.scan_tuples_factor) * f64::from(ef_search) / share)
                .ceil()
                .clamp(1_000.0, f64::from(MAX_SCAN_TUPLES)) as u32
        });
    Route::Index {
        ef_search,
        iterative,
    }
}

/// Whether the tenant's chunks must be counted before the route is final, and up to how many.
///
/// Statistics are an estimate, and a stale one after a bulk load until the next `ANALYZE`: a
/// tenant that was small (or did not exist) when the table was last analyzed may now own most
/// of it, and an exact search of all its chunks would cost hundreds of milliseconds. So the
/// exact route is taken only after counting the tenant's chunks through the b-tree on
/// `organization_id`, stopping at `exact_max_rows + 1`. Once the table's pages are all-visible
/// (autovacuum, or `seed::vector_index::settle` after a bulk load) that is an index-only scan:
/// 0.4 ms for a tenant of 3,500 chunks, against 4 ms while every row's visibility still has to
/// be read from the heap (docs/bench-rag.md). Without statistics the count decides too.
/// `None`: the route stands as [`route`] gives it.
pub fn count_first(facts: Facts, k: u32, tuning: Tuning) -> Option<u32> {
    if !tuning.adaptive {
        return None;
    }
    let exact = route(facts, k, tuning) == Route::Exact;
    (exact || facts.tenant_rows.is_none()).then(|| tuning.exact_max_rows.saturating_add(1))
}

/// The facts once [`count_first`]'s count is known: `seen` of the tenant's chunks, counted up
/// to `cap`. Below the cap the count is exact; at the cap the tenant has at least `cap` chunks,
/// and the larger of that and the estimate stands.
pub fn counted(facts: Facts, seen: u64, cap: u32) -> Facts {
    let seen = seen as f64;
    let tenant_rows = if seen < f64::from(cap) {
        seen
    } else {
        facts.tenant_rows.unwrap_or(0.0).max(seen)
    };
    Facts {
        tenant_rows: Some(tenant_rows),
        table_rows: facts.table_rows.map(|table| table.max(tenant_rows)),
        ..facts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OLD: Option<PgvectorVersion> = Some(PgvectorVersion::new(0, 6, 2));
    const NEW: Option<PgvectorVersion> = Some(PgvectorVersion::new(0, 8, 1));

    fn tuning() -> Tuning {
        Tuning {
            ef_search: 100,
            adaptive: true,
            exact_max_rows: 4_000,
            ef_search_max: 400,
            scan_tuples_factor: 1,
        }
    }

    fn facts(pgvector: Option<PgvectorVersion>, tenant: f64) -> Facts {
        Facts {
            pgvector,
            tenant_rows: Some(tenant),
            table_rows: Some(100_000.0),
            table_pages: Some(100_000.0),
        }
    }

    #[test]
    fn small_tenants_are_searched_exactly_on_every_version() {
        assert_eq!(route(facts(OLD, 1_500.0), 10, tuning()), Route::Exact);
        assert_eq!(route(facts(NEW, 4_000.0), 10, tuning()), Route::Exact);
        assert_ne!(route(facts(NEW, 4_001.0), 10, tuning()), Route::Exact);
    }

    #[test]
    fn ef_search_grows_with_the_share_the_filter_rejects_up_to_the_cap() {
        // A 20% tenant: 100 / 0.2 = 500 candidates, capped at 400.
        assert_eq!(
            route(facts(OLD, 20_000.0), 10, tuning()),
            Route::Index {
                ef_search: 400,
                iterative: None
            }
        );
        // 100 / 0.25 = 400 candidates; a lower cap holds.
        let small_table = Facts {
            table_rows: Some(20_000.0),
            ..facts(OLD, 5_000.0)
        };
        let capped = Tuning {
            ef_search_max: 300,
            ..tuning()
        };
        assert_eq!(
            route(small_table, 10, capped),
            Route::Index {
                ef_search: 300,
                iterative: None
            }
        );
        // max_scan_tuples = ef / share: 400 / 0.05.
        assert_eq!(
            route(facts(NEW, 5_000.0), 10, tuning()),
            Route::Index {
                ef_search: 400,
                iterative: Some(8_000)
            }
        );
        let wide = Tuning {
            ef_search_max: 1000,
            scan_tuples_factor: 2,
            ..tuning()
        };
        assert_eq!(
            route(facts(NEW, 5_000.0), 10, wide),
            Route::Index {
                ef_search: 1000,
                iterative: Some(MAX_SCAN_TUPLES)
            }
        );
        // A cap below the base: the base wins (the cap never lowers the candidate list).
        let unscaled = Tuning {
            ef_search_max: 40,
            ..tuning()
        };
        assert_eq!(
            route(facts(OLD, 5_000.0), 10, unscaled),
            Route::Index {
                ef_search: 100,
                iterative: None
            }
        );
    }

    #[test]
    fn counted_facts_stand_in_for_the_estimate() {
        let recounted = counted(facts(NEW, 10.0), 4_001, 4_001);
        assert_eq!(recounted.tenant_rows, Some(4_001.0));
        assert_eq!(counted(facts(NEW, 10.0), 25, 4_001).tenant_rows, Some(25.0));
    }

    #[test]
    fn a_large_tenant_gets_a_candidate_per_hundred_chunks_whatever_its_share() {
        // Issue 21: 43% of 100,000 chunks. By share alone 100 / 0.43 = 233 candidates, which
        // found 94% of the true top 10 in its dense topic clusters; by size 430, capped at 400.
        assert_eq!(
            route(facts(NEW, 43_000.0), 10, tuning()),
            Route::Index {
                ef_search: 400,
                iterative: Some(1_000)
            }
        );
        assert_eq!(
            route(facts(OLD, 43_000.0), 10, tuning()),
            Route::Index {
                ef_search: 400,
                iterative: None
            }
        );
        // The same share of 30,000 chunks: 12,900 chunks want 129, the share 233.
        let smaller = Facts {
            table_rows: Some(30_000.0),
            ..facts(OLD, 12_900.0)
        };
        assert_eq!(
            route(smaller, 10, tuning()),
            Route::Index {
                ef_search: 233,
                iterative: None
            }
        );
        // A tenant alone in a table of 60,000 chunks: share 1, size 600, capped at 400.
        let alone = Facts {
            table_rows: Some(60_000.0),
            ..facts(NEW, 60_000.0)
        };
        assert_eq!(
            route(alone, 10, tuning()),
            Route::Index {
                ef_search: 400,
                iterative: Some(1_000)
            }
        );
    }

    #[test]
    fn without_statistics_the_index_runs_unscaled_and_k_is_a_floor() {
        let unknown = Facts {
            pgvector: NEW,
            tenant_rows: None,
            table_rows: None,
            table_pages: None,
        };
        assert_eq!(
            route(unknown, 300, tuning()),
            Route::Index {
                ef_search: 300,
                iterative: Some(1_000)
            }
        );
    }

    #[test]
    fn the_exact_route_is_taken_only_after_a_capped_count() {
        // Statistics say 300 chunks: count up to 4,001 first.
        let small = facts(NEW, 300.0);
        assert_eq!(count_first(small, 10, tuning()), Some(4_001));
        // The count agrees: exact.
        assert_eq!(
            route(counted(small, 300, 4_001), 10, tuning()),
            Route::Exact
        );
        // A bulk load since the last ANALYZE: the count reaches the cap, the index serves.
        assert_eq!(
            route(counted(small, 4_001, 4_001), 10, tuning()),
            Route::Index {
                ef_search: 400,
                iterative: Some(9_998)
            }
        );
        // Large by the statistics: no count, whatever they say.
        assert_eq!(count_first(facts(NEW, 40_000.0), 10, tuning()), None);
        // No statistics at all: the count decides.
        let unknown = Facts {
            pgvector: OLD,
            tenant_rows: None,
            table_rows: None,
            table_pages: None,
        };
        assert_eq!(count_first(unknown, 10, tuning()), Some(4_001));
        assert_eq!(
            route(counted(unknown, 12, 4_001), 10, tuning()),
            Route::Exact
        );
        assert!(matches!(
            route(counted(unknown, 4_001, 4_001), 10, tuning()),
            Route::Index { .. }
        ));
        // A fixed search never counts.
        let fixed = Tuning {
            adaptive: false,
            ..tuning()
        };
        assert_eq!(count_first(small, 10, fixed), None);
    }

    #[test]
    fn a_fixed_search_ignores_version_and_tenant() {
        let fixed = Tuning {
            adaptive: false,
            ..tuning()
        };
        for f in [facts(NEW, 10.0), facts(OLD, 90_000.0)] {
            assert_eq!(
                route(f, 10, fixed),
                Route::Index {
                    ef_search: 100,
                    iterative: None
                }
            );
        }
    }
}
