//! `app_db::rag` against a real PostgreSQL with pgvector: tenant isolation, index use, errors,
//! and the effect of `ef_search`.

mod common;
#[path = "common/tenant_mix.rs"]
mod tenant_mix;

use std::collections::HashSet;

use app_db::rag::{self, SearchOptions};
use app_db::{Error, document_chunk};
use sea_orm::prelude::PgVector;
use sea_orm::{
    ActiveValue::Set, ConnectOptions, ConnectionTrait, Database, DatabaseConnection, EntityTrait,
    TransactionTrait,
};
use uuid::Uuid;

const DIM: usize = document_chunk::EMBEDDING_DIMENSION;
/// The big tenant: its chunks point in random directions, far from the query.
const ACME: &str = "org_acme";
/// The small tenant: all its chunks sit right next to the query.
const GLOBEX: &str = "org_globex";
const ACME_CHUNKS: usize = 1500;
const GLOBEX_CHUNKS: usize = 100;

/// splitmix64: a deterministic generator, so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next_f32(&mut self) -> f32 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0
    }

    fn vector(&mut self) -> Vec<f32> {
        (0..DIM).map(|_| self.next_f32()).collect()
    }

    fn near(&mut self, center: &[f32], spread: f32) -> Vec<f32> {
        center
            .iter()
            .map(|c| c + spread * self.next_f32())
            .collect()
    }
}

fn query_vector() -> Vec<f32> {
    Rng(42).vector()
}

async fn chunks(
    db: &DatabaseConnection,
    organization_id: &str,
    embeddings: Vec<Vec<f32>>,
) -> HashSet<Uuid> {
    let source_id = common::source(db, organization_id).await;
    let now = chrono::Utc::now().fixed_offset();
    let mut ids = HashSet::new();
    let models: Vec<_> = embeddings
        .into_iter()
        .enumerate()
        .map(|(i, embedding)| {
            let id = Uuid::new_v4();
            ids.insert(id);
            document_chunk::ActiveModel {
                id: Set(id),
                organization_id: Set(organization_id.into()),
                source_id: Set(source_id),
                chunk_index: Set(i32::try_from(i).expect("small index")),
                content: Set(format!("{organization_id} chunk {i}")),
                token_count: Set(10),
                embedding: Set(PgVector::from(embedding)),
                metadata: Set(serde_json::json!({ "i": i })),
                created_at: Set(now),
                ..Default::default()
            }
        })
        .collect();
    for batch in models.chunks(250) {
        document_chunk::Entity::insert_many(batch.to_vec())
            .exec(db)
            .await
            .expect("insert chunks");
    }
    ids
}

/// ACME: many far chunks. GLOBEX: few chunks all nearer to the query than any of ACME's, so an
/// index scan with a small candidate list sees only GLOBEX rows.
async fn two_tenants() -> (DatabaseConnection, String, HashSet<Uuid>, HashSet<Uuid>) {
    let (db, url) = common::migrated_db().await;
    common::organization(&db, ACME).await;
    common::organization(&db, GLOBEX).await;
    let mut rng = Rng(7);
    let query = query_vector();
    let acme = chunks(&db, ACME, (0..ACME_CHUNKS).map(|_| rng.vector()).collect()).await;
    let globex = chunks(
        &db,
        GLOBEX,
        (0..GLOBEX_CHUNKS).map(|_| rng.near(&query, 0.05)).collect(),
    )
    .await;
    db.execute_unprepared("ANALYZE document_chunk")
        .await
        .expect("analyze");
    (db, url, acme, globex)
}

#[tokio::test]
async fn never_returns_another_organizations_chunk() {
    let (db, _url, acme, globex) = two_tenants().await;
    let query = query_vector();

    let hits = rag::search(&db, ACME, &query, 10)
        .await
        .expect("search acme");
    assert_eq!(hits.len(), 10, "the exact fallback fills up to k");
    assert!(
        hits.iter().all(|h| acme.contains(&h.id)),
        "only ACME chunks"
    );
    assert!(
        hits.windows(2).all(|w| w[0].distance <= w[1].distance),
        "nearest first"
    );

    let hits = rag::search(&db, GLOBEX, &query, 10)
        .await
        .expect("search globex");
    assert_eq!(hits.len(), 10);
    assert!(
        hits.iter().all(|h| globex.contains(&h.id)),
        "only GLOBEX chunks"
    );

    assert!(
        rag::search(&db, "org_unknown", &query, 10)
            .await
            .expect("search")
            .is_empty(),
        "an organization without chunks gets nothing, not someone else's"
    );
}

#[tokio::test]
async fn the_fallback_matches_exact_search() {
    let (db, _url, _acme, _globex) = two_tenants().await;
    let query = query_vector();
    let approximate = rag::search(&db, ACME, &query, 10).await.expect("search");
    let exact = rag::search_exact(&db, ACME, &query, 10)
        .await
        .expect("exact");
    let ids = |hits: &[rag::ChunkMatch]| hits.iter().map(|h| h.id).collect::<Vec<_>>();
    assert_eq!(ids(&approximate), ids(&exact));
}

#[tokio::test]
async fn a_small_tenant_is_searched_exactly_through_its_btree_index() {
    // The planner's own answer to post-filtering: for 100 of 1,600 rows, reading the tenant's rows
    // and sorting them is cheaper than walking the graph. (Needs the embedding stored inline,
    // see 0005_rag.sql, or every plan is a sequential scan.)
    let (db, _url, _acme, _globex) = two_tenants().await;
    let plan = rag::explain(&db, GLOBEX, &query_vector(), 10, SearchOptions::default())
        .await
        .expect("explain")
        .join("\n");
    assert!(
        plan.contains("document_chunk_organization_id_idx"),
        "{}",
        &plan[..plan.len().min(2000)]
    );
    assert!(!plan.contains("document_chunk_embedding_idx"));
}

#[tokio::test]
async fn ef_search_controls_how_many_post_filtered_rows_survive() {
    let (db, _url, acme, _globex) = two_tenants().await;
    let query = query_vector();
    let index_only = |ef_search| SearchOptions::fixed(ef_search, false);

    // All GLOBEX_CHUNKS are nearer than any ACME chunk: a candidate list of 10 holds none of ACME.
    let narrow = rag::search_with(&db, ACME, &query, 10, index_only(10))
        .await
        .expect("narrow search");
    assert!(
        narrow.len() < 10,
        "ef_search=10 cannot see past GLOBEX: {}",
        narrow.len()
    );
    assert!(narrow.iter().all(|h| acme.contains(&h.id)));

    let wide = rag::search_with(&db, ACME, &query, 10, index_only(400))
        .await
        .expect("wide search");
    assert_eq!(
        wide.len(),
        10,
        "ef_search=400 reaches past GLOBEX's {GLOBEX_CHUNKS} chunks"
    );
    assert!(wide.iter().all(|h| acme.contains(&h.id)));
}

#[tokio::test]
async fn ef_search_does_not_leak_into_the_pooled_connection() {
    let (_db, url, _acme, _globex) = two_tenants().await;
    let mut options = ConnectOptions::new(url);
    options.max_connections(1).sqlx_logging(false);
    let single = Database::connect(options).await.expect("connect");
    rag::search_with(
        &single,
        ACME,
        &query_vector(),
        5,
        SearchOptions::fixed(777, true),
    )
    .await
    .expect("search");
    let row = single
        .query_one_raw(sea_orm::Statement::from_string(
            sea_orm::DbBackend::Postgres,
            "SELECT current_setting('hnsw.ef_search') AS ef",
        ))
        .await
        .expect("show")
        .expect("a row");
    let ef: String = row.try_get("", "ef").expect("text");
    assert_ne!(ef, "777", "SET LOCAL must end with the search transaction");
}

#[tokio::test]
async fn bad_embeddings_get_typed_errors() {
    let (db, _url) = common::migrated_db().await;

    let short = vec![0.1_f32; 768];
    match rag::search(&db, ACME, &short, 5).await {
        Err(Error::EmbeddingDimension {
            expected: 1536,
            found: 768,
        }) => {}
        other => panic!("expected EmbeddingDimension, got {other:?}"),
    }

    let mut nan = vec![0.1_f32; DIM];
    nan[42] = f32::NAN;
    match rag::search(&db, ACME, &nan, 5).await {
        Err(Error::EmbeddingNotFinite { index: 42 }) => {}
        other => panic!("expected EmbeddingNotFinite, got {other:?}"),
    }

    let mut inf = vec![0.1_f32; DIM];
    inf[0] = f32::INFINITY;
    assert!(matches!(
        rag::search(&db, ACME, &inf, 5).await,
        Err(Error::EmbeddingNotFinite { index: 0 })
    ));

    let bad_ef = SearchOptions {
        ef_search: 5000,
        ..SearchOptions::default()
    };
    assert!(matches!(
        rag::search_with(&db, ACME, &vec![0.1; DIM], 5, bad_ef).await,
        Err(Error::SearchParameterOutOfRange {
            parameter: "ef_search",
            value: 5000,
            ..
        })
    ));

    assert!(
        rag::search(&db, ACME, &vec![0.1; DIM], 0)
            .await
            .expect("k = 0")
            .is_empty()
    );
}

/// Statistics are an estimate and go stale: a tenant that had 5 chunks at the last ANALYZE and
/// has since bulk-loaded many more must not be searched exactly (every chunk compared), neither
/// when the search reads the statistics after the load nor when the pool learned them before.
#[tokio::test]
async fn a_tenant_grown_since_the_last_analyze_is_not_searched_exactly() {
    let (db, _url) = common::migrated_db().await;
    // No autovacuum ANALYZE may refresh the statistics during the test.
    db.execute_unprepared("ALTER TABLE document_chunk SET (autovacuum_enabled = false)")
        .await
        .expect("autovacuum off");
    common::organization(&db, ACME).await;
    common::organization(&db, GLOBEX).await;
    let mut rng = Rng(11);
    chunks(&db, ACME, (0..200).map(|_| rng.vector()).collect()).await;
    chunks(&db, GLOBEX, (0..5).map(|_| rng.vector()).collect()).await;
    db.execute_unprepared("ANALYZE document_chunk")
        .await
        .expect("analyze");
    // Exact search up to 30 chunks here, so that a small load crosses the threshold.
    let options = SearchOptions {
        exact_max_rows: 30,
        ..SearchOptions::default()
    };
    assert_eq!(
        rag::route_for(&db, GLOBEX, 10, options)
            .await
            .expect("route"),
        rag::Route::Exact,
        "5 chunks: exact"
    );
    // A bulk load after the pool learned the statistics, without ANALYZE.
    let grown = chunks(&db, GLOBEX, (0..120).map(|_| rng.vector()).collect()).await;
    let route = rag::route_for(&db, GLOBEX, 10, options)
        .await
        .expect("route");
    assert!(
        matches!(route, rag::Route::Index { .. }),
        "125 chunks, the statistics still say 5: {route:?}"
    );
    // Inside a transaction the statistics are read again (no pool cache): still stale.
    let txn = db.begin().await.expect("begin");
    let route = rag::route_for(&txn, GLOBEX, 10, options)
        .await
        .expect("route");
    assert!(matches!(route, rag::Route::Index { .. }), "{route:?}");
    txn.commit().await.expect("commit");
    // The search itself still finds the tenant's chunks only.
    let hits = rag::search_with(&db, GLOBEX, &query_vector(), 10, options)
        .await
        .expect("search");
    assert_eq!(hits.len(), 10);
    assert!(
        hits.iter()
            .all(|h| grown.contains(&h.id) || h.content.starts_with(GLOBEX))
    );
}

/// The pgvector version the server reports (CI runs this file again on pgvector 0.6.2 with
/// `APP_DB_EXPECT_PGVECTOR=0.6.2`, so a wrong server cannot pass for the old code path).
async fn pgvector_version(db: &DatabaseConnection) -> rag::PgvectorVersion {
    let row = db
        .query_one_raw(sea_orm::Statement::from_string(
            sea_orm::DbBackend::Postgres,
            "select extversion from pg_extension where extname = 'vector'",
        ))
        .await
        .expect("query")
        .expect("pgvector is installed");
    let text: String = row.try_get_by_index(0).expect("text");
    if let Ok(expected) = std::env::var("APP_DB_EXPECT_PGVECTOR") {
        assert_eq!(text, expected, "APP_DB_EXPECT_PGVECTOR");
    }
    rag::PgvectorVersion::parse(&text).expect("a version")
}

#[tokio::test]
async fn recall_is_at_least_0_95_in_every_tenant_class_and_no_query_below_half() {
    let (db, _url) = common::migrated_db().await;
    let version = pgvector_version(&db).await;
    let loaded = tenant_mix::load(&db, 5_000, 20, tenant_mix::CLUSTERED).await;
    // Exact search only up to 30 chunks here (the default threshold is for large tables), so
    // every class but the smallest takes an index route on this small set.
    let options = SearchOptions {
        exact_max_rows: 30,
        ..SearchOptions::default()
    };
    let results = tenant_mix::measure(&db, &loaded, 20, 10, options).await;
    assert_eq!(results.len(), tenant_mix::CLASSES.len());
    let report: Vec<String> = results
        .iter()
        .map(|r| {
            format!(
                "{}: recall {:.3}, worst query {:.1} via {}",
                r.class,
                r.recall,
                r.worst(),
                r.route
            )
        })
        .collect();
    println!("pgvector {version}: {report:#?}");
    for r in &results {
        assert!(r.recall >= 0.95, "pgvector {version}: {report:#?}");
        assert!(r.worst() >= 0.5, "pgvector {version}: {report:#?}");
        if r.class == "<0.5%" {
            assert_eq!(r.route, "Exact", "{report:#?}");
        } else {
            assert!(r.route.starts_with("Index"), "{report:#?}");
            // Iterative scans exactly where the server has them.
            assert_eq!(
                !r.route.contains("iterative: None"),
                version.has_iterative_scan(),
                "pgvector {version}: {report:#?}"
            );
        }
    }
}

/// Issue 21's mix (one tenant with 43% of the chunks, topics shared across tenants, queries on
/// the tenant's own topics): no query below recall 0.5 and every class's mean at least 0.95.
/// Exact search only up to 30 chunks, so every class but the smallest goes through the index.
#[tokio::test]
async fn on_shared_topics_no_query_falls_below_half_and_every_mean_is_0_95() {
    let (db, _url) = common::migrated_db().await;
    let version = pgvector_version(&db).await;
    let mix = tenant_mix::Mix {
        topics: 40,
        topics_per_tenant: 4,
        ..tenant_mix::Mix::new(tenant_mix::Shape::Shared, 20_000)
    };
    // Analyzed and vacuumed by the load, as a bulk load of the demo generator is.
    let loaded = tenant_mix::load_mix(&db, &mix).await;
    let options = SearchOptions {
        exact_max_rows: 30,
        ..SearchOptions::default()
    };
    let results = tenant_mix::measure(&db, &loaded, 20, 10, options).await;
    assert_eq!(results.len(), tenant_mix::Shape::Shared.classes().len());
    let report: Vec<String> = results
        .iter()
        .map(|r| {
            format!(
                "{}: mean {:.3}, worst {:.1}, {} of {} below 0.5, via {}",
                r.class,
                r.recall,
                r.worst(),
                r.recalls.iter().filter(|x| **x < 0.5).count(),
                r.recalls.len(),
                r.route
            )
        })
        .collect();
    println!("pgvector {version}: {report:#?}");
    for r in &results {
        assert!(r.worst() >= 0.5, "pgvector {version}: {report:#?}");
        assert!(r.recall >= 0.95, "pgvector {version}: {report:#?}");
    }
    let dominant = &results[0];
    assert_eq!(dominant.class, "43%");
    assert!(dominant.route.starts_with("Index"), "{report:#?}");
}

/// The index route keeps the tenant filter in the plan: an HNSW scan filtered by organization,
/// or (pgvector 0.8's cost model, which weighs the filter's selectivity, may prefer it on a
/// 5,000-row table) the organization's b-tree. Before 0.8 the planner takes the HNSW index.
#[tokio::test]
async fn explain_shows_the_hnsw_index_with_the_tenant_filter() {
    let (db, _url) = common::migrated_db().await;
    let version = pgvector_version(&db).await;
    let loaded = tenant_mix::load(&db, 5_000, 20, tenant_mix::CLUSTERED).await;
    let query = app_db::seed::synthetic::near(
        &mut app_db::seed::synthetic::Rng::new(1),
        &loaded.centroids[0],
        loaded.spread,
    );
    let adaptive = SearchOptions {
        exact_max_rows: 30,
        ..SearchOptions::default()
    };
    for options in [adaptive, SearchOptions::fixed(100, true)] {
        let plan = rag::explain(&db, "mix_large", &query, 10, options)
            .await
            .expect("explain");
        // Lines carry the 1536-value query literal: keep failure output readable.
        let plan: Vec<String> = plan.iter().map(|l| l.chars().take(120).collect()).collect();
        let plan = plan.join("\n");
        let hnsw = plan.contains("Index Scan using document_chunk_embedding_idx");
        if hnsw {
            assert!(
                plan.contains("Filter: (organization_id = 'mix_large'::text)"),
                "{plan}"
            );
        } else {
            assert!(
                plan.contains("Index Cond: (organization_id = 'mix_large'::text)"),
                "{plan}"
            );
        }
        assert!(
            hnsw || version.has_iterative_scan(),
            "pgvector {version} {options:?}\n{plan}"
        );
    }
}
