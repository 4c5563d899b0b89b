//! The check of an index answer: a sample of the tenant's chunks, read by tuple id.
//!
//! A graph search can end in the wrong place: a greedy descent that stops in a neighbouring
//! topic returns `k` rows of the tenant, none of them near the query (issue 21). So an index
//! answer is compared with about [`SearchOptions::check_sample`](super::SearchOptions) of the
//! tenant's chunks: a sampled chunk strictly nearer than the answer's k-th hit, and not in the
//! answer, proves the answer is not the exact top `k`, and the search runs exactly. A correct
//! answer can never be flagged. An answer from the wrong part of the graph is flagged unless the
//! sample misses every chunk of the query's neighbourhood: with 128 chunks of a tenant writing
//! about 12 topics, a chance of about (11/12)^128, one in 70,000.
//!
//! The sample is a systematic one over the table's heap pages: [`pages`] pages evenly spaced
//! from a start the query picks, each read by tuple id (`ctid = ANY(...)`, a TID scan), and the
//! tenant's rows among them compared. `TABLESAMPLE SYSTEM`, the first form of the check, picks
//! its pages by hashing every block number of the table: 2.3-3.0 ms on a 100,000-page table
//! for 298 pages read, against 0.3-1.9 ms for the same pages by tuple id (docs/bench-rag.md). A
//! tuple id past the end of the table (statistics older than a truncation) is skipped by the
//! TID scan; one at an empty slot just samples nothing. Pages added since the statistics were
//! read (`pg_class.relpages`, refreshed by ANALYZE and VACUUM, read once a minute per pool) are
//! not sampled until then: a weaker check for a while, never a wrong one.

use std::hash::{Hash, Hasher};

use sea_orm::{ConnectionTrait, Value};

use super::{ChunkMatch, Plan, count, route::Facts};
use crate::Error;

/// The most table pages one check reads (a 1536-d vector is stored in the row, so a page holds
/// about one chunk). A check costs about its page count in heap page reads, 1-6 µs each on the
/// benchmark's 2-core virtual machine depending on whether the page is in the CPU's cache
/// (docs/bench-rag.md): up to a few milliseconds at this bound.
pub const CHECK_MAX_PAGES: f64 = 2_000.0;

/// The most line pointers a heap page of 8 kB can hold (PostgreSQL's `MaxHeapTuplesPerPage`).
const MAX_ROWS_PER_PAGE: f64 = 291.0;

/// The tenant's sampled chunks (by tuple id, `$3`) nearer to `$1` than the answer's k-th hit
/// (`$4`) and not in the answer (`$5`, its ids); `$2` organization. `organization_id = $2` is the
/// cheaper condition, so PostgreSQL computes distances for the tenant's sampled chunks only.
const CHECK_SQL: &str = "SELECT count(*)::int8 FROM document_chunk \
     WHERE ctid = ANY ($3::tid[]) AND organization_id = $2 AND (embedding <=> $1) < $4 \
     AND NOT (id = ANY ($5::uuid[]))";

/// How many of the table's pages to read to meet about `sample` of the tenant's chunks, at
/// most [`CHECK_MAX_PAGES`] and the table; `None` (no check) for `sample = 0` or without
/// statistics (the tenant's rows, the table's pages).
pub fn pages(facts: Facts, sample: u32) -> Option<u32> {
    if sample == 0 {
        return None;
    }
    let tenant = facts.tenant_rows.filter(|rows| *rows >= 1.0)?;
    let table_pages = facts.table_pages.filter(|pages| *pages >= 1.0)?;
    // The tenant's rows lie about `tenant / table_pages` to a page.
    let wanted = f64::from(sample) * table_pages / tenant;
    Some(wanted.ceil().min(CHECK_MAX_PAGES).min(table_pages).max(1.0) as u32)
}

/// The tuple ids of a systematic sample: `pages` of the table's `table_pages` pages, evenly
/// spaced from a start within the first interval that `seed` picks, each with the line
/// pointers a page of this table holds (`rows_per_page` rounded up, plus one for a row whose
/// slot moved in an update; at most 291, PostgreSQL's limit). Distinct, in page order.
pub fn tids(table_pages: u32, rows_per_page: f64, pages: u32, seed: u64) -> Vec<(u32, u16)> {
    let pages = pages.min(table_pages);
    if pages == 0 {
        return Vec::new();
    }
    let slots = (rows_per_page.max(1.0).ceil() + 1.0).min(MAX_ROWS_PER_PAGE) as u16;
    let step = f64::from(table_pages) / f64::from(pages);
    // The start in [0, step): the seed's top 53 bits as a fraction.
    let start = (seed >> 11) as f64 / (1u64 << 53) as f64 * step;
    let mut ids = Vec::with_capacity(usize::from(slots) * pages as usize);
    for i in 0..pages {
        let page = (start + f64::from(i) * step) as u32;
        ids.extend((1..=slots).map(|slot| (page.min(table_pages - 1), slot)));
    }
    ids.dedup();
    ids
}

/// `tids` as a PostgreSQL `tid[]` literal.
fn tid_array(tids: &[(u32, u16)]) -> String {
    let items: Vec<String> = tids
        .iter()
        .map(|(page, slot)| format!("\"({page},{slot})\""))
        .collect();
    format!("{{{}}}", items.join(","))
}

/// The sample's start, from the query: the same search reads the same sample (a search is
/// repeatable), different queries read different pages.
fn seed(plan: &Plan, organization_id: &str) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    organization_id.hash(&mut hasher);
    for value in plan.embedding.as_slice() {
        value.to_bits().hash(&mut hasher);
    }
    hasher.finish()
}

/// Whether the sample of the tenant's chunks ([`pages`] pages; `None`: no check) holds one
/// nearer than the k-th of `hits` that `hits` lacks: then `hits` is not the exact answer.
pub(super) async fn beaten(
    txn: &impl ConnectionTrait,
    plan: &Plan,
    organization_id: &str,
    hits: &[ChunkMatch],
    facts: Facts,
) -> Result<bool, Error> {
    let (Some(pages), Some(table_pages)) =
        (pages(facts, plan.options.check_sample), facts.table_pages)
    else {
        return Ok(false);
    };
    let Some(kth) = hits.iter().map(|hit| hit.distance).reduce(f64::max) else {
        return Ok(false);
    };
    let rows_per_page = facts.table_rows.unwrap_or(table_pages) / table_pages;
    let sample = tids(
        table_pages.min(f64::from(u32::MAX)) as u32,
        rows_per_page,
        pages,
        seed(plan, organization_id),
    );
    let ids: Vec<String> = hits.iter().map(|hit| hit.id.to_string()).collect();
    let nearer = count(
        txn,
        CHECK_SQL,
        [
            Value::from(plan.embedding.clone()),
            Value::from(organization_id),
            Value::from(tid_array(&sample)),
            Value::from(kth),
            Value::from(format!("{{{}}}", ids.join(","))),
        ],
    )
    .await?;
    if nearer > 0 {
        tracing::debug!(
            target: "app_db::rag",
            nearer,
            pages,
            kth,
            "a sampled chunk of the tenant is nearer than the index answer's k-th hit: searching exactly"
        );
    }
    Ok(nearer > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(tenant: f64) -> Facts {
        Facts {
            pgvector: None,
            tenant_rows: Some(tenant),
            table_rows: Some(100_000.0),
            table_pages: Some(100_000.0),
        }
    }

    #[test]
    fn the_check_reads_about_its_sample_of_the_tenants_chunks_within_a_page_bound() {
        // 128 of 14,000 chunks at one chunk per page: 915 of 100,000 pages.
        assert_eq!(pages(facts(14_000.0), 128), Some(915));
        // 43%: 298 pages.
        assert_eq!(pages(facts(43_000.0), 128), Some(298));
        // A 4% tenant would want 3,200 pages: at most 2,000.
        assert_eq!(pages(facts(4_000.0), 128), Some(2_000));
        // Ten rows a page: a tenth of the pages for the same chunks.
        let dense = Facts {
            table_pages: Some(10_000.0),
            ..facts(14_000.0)
        };
        assert_eq!(pages(dense, 128), Some(92));
        // A tenant owning a small table: every page, never more.
        let small = Facts {
            table_rows: Some(100.0),
            table_pages: Some(100.0),
            ..facts(90.0)
        };
        assert_eq!(pages(small, 128), Some(100));
        // No sample asked, or nothing known: no check.
        assert_eq!(pages(facts(14_000.0), 0), None);
        assert_eq!(pages(Facts::default(), 128), None);
        for unknown in [
            Facts {
                tenant_rows: None,
                ..facts(1.0)
            },
            Facts {
                table_pages: Some(0.0),
                ..facts(1.0)
            },
        ] {
            assert_eq!(pages(unknown, 128), None, "{unknown:?}");
        }
    }

    #[test]
    fn the_sample_spreads_evenly_over_the_table_from_a_start_the_seed_picks() {
        let ids = tids(100_000, 1.0, 298, 0);
        // One chunk per page: two slots per page (the row, or its moved version).
        assert_eq!(ids.len(), 2 * 298);
        assert_eq!(ids[..2], [(0, 1), (0, 2)]);
        let pages: Vec<u32> = ids.iter().map(|(page, _)| *page).step_by(2).collect();
        assert!(
            pages
                .windows(2)
                .all(|w| w[1] - w[0] >= 335 && w[1] - w[0] <= 336)
        );
        assert!(*pages.last().unwrap() < 100_000);
        // Another seed, another start within the first interval; still in the table.
        let shifted = tids(100_000, 1.0, 298, u64::MAX);
        assert!(shifted[0].0 > 300 && shifted[0].0 < 336, "{:?}", shifted[0]);
        assert!(shifted.iter().all(|(page, _)| *page < 100_000));
        // Several rows a page: every slot they may use.
        let dense = tids(10, 3.2, 10, 7);
        assert_eq!(dense.len(), 10 * 5);
        assert_eq!(dense[..5], [(0, 1), (0, 2), (0, 3), (0, 4), (0, 5)]);
        // Never more pages than the table has, never a duplicate.
        let all = tids(3, 1.0, 50, 42);
        assert_eq!(all, [(0, 1), (0, 2), (1, 1), (1, 2), (2, 1), (2, 2)]);
        assert!(tids(0, 1.0, 10, 1).is_empty());
        assert_eq!(
            tid_array(&[(0, 1), (12, 2)]),
            "{\"(0,1)\",\"(12,2)\"}".to_string()
        );
    }
}
