//! The hand-off matrix among drizzle-orm 0.45.4 (journal folder), drizzle-orm 1.0.0-rc.5 (the
//! same folder converted by the real `drizzle-kit up` 1.0.0-rc.5) and app-db on either layout,
//! as ONE test whose output names every cell.
//!
//! The history is the drizzle-kit fixture (`tests/fixtures/journal/drizzle-kit`, three
//! migrations whose `when`s have milliseconds) and its conversion
//! (`tests/fixtures/journal/drizzle-kit-v1`). A cell is an order of three actors: the first
//! applies migration 1 to a fresh database, the second migration 2, the third migration 3 (each
//! given the folder up to that migration). Every order of the four actors is a cell (64), then
//! three cells of eight concurrent app-db boots on the whole folder, and one of four steps (the
//! fourth on the whole folder). A cell that completes is checked by app-db
//! (journal folder: nothing to apply), drizzle-orm 1.0 on the whole converted folder (nothing
//! to run: the guarantee the TypeScript app needs) and app-db (1.0 folder: nothing to do, no
//! lock), and must then have
//!
//! - the bookkeeping rows (`id`, `hash`, `created_at`, `name`, whether `applied_at` is set) of
//!   the model below, which writes each row as the drizzle-orm of the actor's layout writes
//!   it: 0.45 and app-db on the journal `created_at` = the journal's `when`, 1.0 and app-db on a
//!   1.0 folder the folder's second; a name on a 1.0-shaped table (app-db on the journal
//!   writes the name `drizzle-kit up` gives the entry; 0.45 writes none); drizzle-orm 1.0's
//!   upgrade of a 0.x table (rows named, `applied_at` NULL), done by 1.0 and by app-db on a 1.0
//!   folder;
//! - the `pg_dump --schema-only` of drizzle-orm 1.0 applying the whole folder alone.
//!
//! The model's drizzle parts are checked against the real drizzle-orm by the cells that only
//! run drizzle; the app-db cells then hold app-db to the same rows.
//!
//! Some orders fail in drizzle-orm itself, whatever app-db does, and the model predicts them:
//! drizzle-orm 0.45 after a 1.0 migrator wrote the newest row (its high-water mark is that
//! row's second, below the journal's `when`, so it runs the migration again), and drizzle-orm
//! 1.0 on a row drizzle-orm 0.45 wrote on a 1.0 table (no name, so it runs it again) unless
//! app-db ran in between (app-db names such rows). Such a cell must fail exactly there, with
//! "already exists"; its line says so.
//!
//! Needs Node.js 20+ and npm (both node projects are installed with `npm ci`).

mod common;
#[path = "common/drizzle.rs"]
mod drizzle;
#[path = "common/drizzle1.rs"]
mod drizzle1;

use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;

use app_db::testing::TestDatabase;
use app_db::{Migration, Migrator};
use common::{AnyRow, any_rows, connect};
use tokio::sync::Semaphore;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Actor {
    /// drizzle-orm 0.45.4 on the journal folder.
    D0,
    /// drizzle-orm 1.0.0-rc.5 on the converted folder.
    D1,
    /// app-db on the journal folder.
    AJ,
    /// app-db on the converted folder.
    AF,
}

const ACTORS: [Actor; 4] = [Actor::D0, Actor::D1, Actor::AJ, Actor::AF];

impl Actor {
    fn label(self) -> &'static str {
        match self {
            Self::D0 => "drizzle-orm 0.45",
            Self::D1 => "drizzle-orm 1.0",
            Self::AJ => "app-db (journal)",
            Self::AF => "app-db (1.0 folder)",
        }
    }
}

/// The history in both layouts.
struct History {
    journal_dir: PathBuf,
    v1_dir: PathBuf,
    journal: &'static [Migration],
    v1: &'static [Migration],
}

fn history() -> &'static History {
    static HISTORY: std::sync::OnceLock<History> = std::sync::OnceLock::new();
    HISTORY.get_or_init(|| {
        let fixtures = drizzle::repo_root().join("tests/fixtures/journal");
        let journal_dir = fixtures.join("drizzle-kit");
        let v1_dir = fixtures.join("drizzle-kit-v1");
        let history = History {
            journal: drizzle::load_static(&journal_dir),
            v1: drizzle::load_static(&v1_dir),
            journal_dir,
            v1_dir,
        };
        assert_eq!(history.journal.len(), 3);
        assert_eq!(history.v1.len(), 3);
        for (j, v) in history.journal.iter().zip(history.v1) {
            assert_eq!(j.hash, v.hash, "the conversion keeps the SQL");
            assert_eq!(
                j.name, v.name,
                "the journal entries' 1.0 names are the folders'"
            );
            assert_ne!(j.when, v.when, "the fixture's `when`s have milliseconds");
        }
        history
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    None,
    Drizzle0,
    Drizzle1,
}

#[derive(Debug, Clone)]
struct Row {
    migration: usize,
    created_at: i64,
    name: Option<&'static str>,
    applied_at: bool,
}

/// What the bookkeeping table holds after each step, as each drizzle-orm writes it.
#[derive(Debug, Clone)]
struct Model {
    shape: Shape,
    rows: Vec<Row>,
}

impl Model {
    fn new() -> Self {
        Self {
            shape: Shape::None,
            rows: Vec::new(),
        }
    }

    /// drizzle-orm 1.0's upgrade: every row named after its migration, `applied_at` NULL.
    fn upgrade(&mut self) {
        let v1 = history().v1;
        for row in &mut self.rows {
            row.name = Some(v1[row.migration].name);
            row.applied_at = false;
        }
        self.shape = Shape::Drizzle1;
    }

    /// app-db's naming of rows without a name on a 1.0 table; how many.
    fn name_rows(&mut self) -> usize {
        let v1 = history().v1;
        let mut named = 0;
        for row in self.rows.iter_mut().filter(|r| r.name.is_none()) {
            row.name = Some(v1[row.migration].name);
            named += 1;
        }
        named
    }

    /// `actor` runs the folder up to migration `i`, applying the migrations after the rows;
    /// `Err` when drizzle-orm itself runs an applied migration again.
    fn step(&mut self, actor: Actor, i: usize) -> Result<(), String> {
        let History { journal, v1, .. } = history();
        let new: Vec<usize> = (self.rows.len()..=i).collect();
        match actor {
            Actor::D0 => {
                if self.shape == Shape::None {
                    self.shape = Shape::Drizzle0;
                }
                let mark = self.rows.iter().map(|r| r.created_at).max();
                let runs: Vec<usize> = (0..=i)
                    .filter(|&j| mark.is_none_or(|mark| journal[j].when > mark))
                    .collect();
                if runs != new {
                    return Err(format!(
                        "drizzle-orm 0.45 runs migration {} again: its high-water mark is created_at {}, the second a 1.0 migrator wrote, below that migration's `when` {}",
                        runs[0] + 1,
                        mark.unwrap_or_default(),
                        journal[runs[0]].when
                    ));
                }
                for j in new {
                    self.rows.push(Row {
                        migration: j,
                        created_at: journal[j].when,
                        name: None,
                        applied_at: self.shape == Shape::Drizzle1,
                    });
                }
            }
            Actor::D1 => {
                match self.shape {
                    Shape::None => self.shape = Shape::Drizzle1,
                    Shape::Drizzle0 => self.upgrade(),
                    Shape::Drizzle1 => {}
                }
                let runs: Vec<usize> = (0..=i)
                    .filter(|&j| !self.rows.iter().any(|r| r.name == Some(v1[j].name)))
                    .collect();
                if runs != new {
                    return Err(format!(
                        "drizzle-orm 1.0 runs migration {} again: its row has no name (drizzle-orm 0.45 wrote it on a 1.0 table)",
                        runs[0] + 1
                    ));
                }
                for j in new {
                    self.rows.push(Row {
                        migration: j,
                        created_at: v1[j].when,
                        name: Some(v1[j].name),
                        applied_at: true,
                    });
                }
            }
            Actor::AJ => {
                match self.shape {
                    Shape::None => self.shape = Shape::Drizzle0,
                    Shape::Drizzle0 => {}
                    Shape::Drizzle1 => {
                        self.name_rows();
                    }
                }
                let v1_table = self.shape == Shape::Drizzle1;
                for j in new {
                    self.rows.push(Row {
                        migration: j,
                        created_at: journal[j].when,
                        name: v1_table.then_some(journal[j].name),
                        applied_at: v1_table,
                    });
                }
            }
            Actor::AF => {
                match self.shape {
                    Shape::None => self.shape = Shape::Drizzle1,
                    Shape::Drizzle0 => self.upgrade(),
                    Shape::Drizzle1 => {
                        self.name_rows();
                    }
                }
                for j in new {
                    self.rows.push(Row {
                        migration: j,
                        created_at: v1[j].when,
                        name: Some(v1[j].name),
                        applied_at: true,
                    });
                }
            }
        }
        Ok(())
    }

    fn expected_rows(&self) -> Vec<AnyRow> {
        let journal = history().journal;
        self.rows
            .iter()
            .zip(1..)
            .map(|(row, id)| {
                (
                    id,
                    journal[row.migration].hash.to_string(),
                    Some(row.created_at),
                    row.name.map(str::to_string),
                    row.applied_at,
                )
            })
            .collect()
    }
}

/// `actor` applies the history up to migration `i` (inclusive) to `url`.
async fn run(actor: Actor, i: usize, url: &str) -> Result<app_db::migrate::Report, String> {
    let History {
        journal_dir,
        v1_dir,
        journal,
        v1,
    } = history();
    match actor {
        Actor::D0 | Actor::D1 => {
            let (dir, url) = (
                if actor == Actor::D0 {
                    journal_dir.clone()
                } else {
                    v1_dir.clone()
                },
                url.to_string(),
            );
            tokio::task::spawn_blocking(move || {
                let output = if actor == Actor::D0 {
                    drizzle::drizzle_migrate_command(&dir, &url, Some(i + 1)).output()
                } else {
                    drizzle1::migrate_command(&dir, &url, Some(i + 1)).output()
                }
                .expect("run node");
                drizzle1::outcome(&output)
            })
            .await
            .expect("the node process was waited for")
            .map(|()| app_db::migrate::Report::default())
        }
        Actor::AJ | Actor::AF => {
            let list = if actor == Actor::AJ { journal } else { v1 };
            let mut conn = connect(url).await;
            Migrator::with_migrations(&list[..=i])
                .run(&mut conn)
                .await
                .map_err(|e| e.to_string())
        }
    }
}

/// How a cell ended, for its line.
enum Outcome {
    Same,
    DrizzleFails { step: usize, why: String },
}

fn cell_name(order: &[Actor]) -> String {
    order
        .iter()
        .map(|a| a.label())
        .collect::<Vec<_>>()
        .join(" → ")
}

/// Runs one cell: `before` steps one after the other, then (if any) `concurrent` app-db boots
/// of `actor` on the whole folder, then the final checks. Returns how it ended, or the
/// difference that fails the test.
async fn cell(
    order: &[Actor],
    concurrent: Option<(Actor, usize)>,
    reference_dump: &str,
) -> Result<Outcome, String> {
    let History { journal, v1, .. } = history();
    let db = TestDatabase::empty().await.map_err(|e| e.to_string())?;
    let mut model = Model::new();
    for (step, &actor) in order.iter().enumerate() {
        // Step k runs the folder up to migration k; steps past the last run the whole folder.
        let i = step.min(journal.len() - 1);
        let predicted = model.step(actor, i);
        let actual = run(actor, i, &db.url).await;
        match (predicted, actual) {
            (Ok(()), Ok(_)) => {}
            (Err(why), Err(message)) if message.contains("already exists") => {
                return Ok(Outcome::DrizzleFails {
                    step: step + 1,
                    why,
                });
            }
            (Err(why), Err(message)) => {
                return Err(format!(
                    "step {} ({}) failed as predicted ({why}) but not with \"already exists\":\n{message}",
                    step + 1,
                    actor.label()
                ));
            }
            (Err(why), Ok(_)) => {
                return Err(format!(
                    "step {} ({}) was predicted to fail ({why}) but succeeded",
                    step + 1,
                    actor.label()
                ));
            }
            (Ok(()), Err(message)) => {
                return Err(format!(
                    "step {} ({}) failed:\n{message}",
                    step + 1,
                    actor.label()
                ));
            }
        }
    }
    if let Some((actor, boots)) = concurrent {
        let list = if actor == Actor::AJ { journal } else { v1 };
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..boots {
            let url = db.url.clone();
            tasks.spawn(async move {
                let mut conn = connect(&url).await;
                Migrator::with_migrations(list).run(&mut conn).await
            });
        }
        let mut reports = Vec::new();
        while let Some(joined) = tasks.join_next().await {
            reports.push(
                joined
                    .expect("the boot task ran")
                    .map_err(|e| format!("a concurrent boot failed: {e}"))?,
            );
        }
        let expected_upgrades = usize::from(model.shape == Shape::Drizzle0 && actor == Actor::AF);
        let expected_named = if model.shape == Shape::Drizzle1 {
            model.rows.iter().filter(|r| r.name.is_none()).count()
        } else {
            0
        };
        let expected_applied = list.len() - model.rows.len();
        model
            .step(actor, list.len() - 1)
            .expect("app-db steps never fail");
        let applied: Vec<usize> = reports.iter().map(|r| r.applied.len()).collect();
        let workers = applied.iter().filter(|&&n| n > 0).count();
        if applied.iter().sum::<usize>() != expected_applied
            || workers > 1
            || reports.iter().filter(|r| r.upgraded.is_some()).count() != expected_upgrades
            || reports.iter().map(|r| r.named).sum::<usize>() != expected_named
        {
            return Err(format!(
                "{boots} concurrent boots did not apply each migration once: applied {applied:?}, upgraded {:?}, named {:?}",
                reports.iter().map(|r| r.upgraded).collect::<Vec<_>>(),
                reports.iter().map(|r| r.named).collect::<Vec<_>>()
            ));
        }
    }
    // The final checks: app-db on the journal applies nothing (it may name rows), drizzle-orm
    // 1.0 on the whole converted folder runs nothing, app-db on it has nothing to do.
    let mut conn = connect(&db.url).await;
    let report = Migrator::with_migrations(journal)
        .run(&mut conn)
        .await
        .map_err(|e| format!("final app-db (journal): {e}"))?;
    let named = if model.shape == Shape::Drizzle1 {
        model.name_rows()
    } else {
        0
    };
    if !report.applied.is_empty() || report.named != named || !report.warnings.is_empty() {
        return Err(format!(
            "final app-db (journal) applied {:?}, named {} row(s) (expected {named}), warned {:?}",
            report.applied, report.named, report.warnings
        ));
    }
    let url = db.url.clone();
    let v1_dir = history().v1_dir.clone();
    tokio::task::spawn_blocking(move || drizzle1::migrate(&v1_dir, &url, None))
        .await
        .expect("the node process was waited for")
        .map_err(|e| format!("final drizzle-orm 1.0 on the whole folder failed:\n{e}"))?;
    if model.shape == Shape::Drizzle0 {
        model.upgrade();
    }
    let report = Migrator::with_migrations(v1)
        .run(&mut conn)
        .await
        .map_err(|e| format!("final app-db (1.0 folder): {e}"))?;
    if !report.applied.is_empty() || report.locked || !report.warnings.is_empty() {
        return Err(format!(
            "final app-db (1.0 folder) must find nothing to do: applied {:?}, locked {}, warned {:?}",
            report.applied, report.locked, report.warnings
        ));
    }
    let rows = any_rows(&mut conn).await;
    let expected = model.expected_rows();
    if rows != expected {
        return Err(format!(
            "bookkeeping rows differ\n  expected {expected:#?}\n  found {rows:#?}"
        ));
    }
    let dump = drizzle::schema_dump(&db.url);
    if dump != reference_dump {
        return Err(format!(
            "the schema differs from drizzle-orm 1.0 applying the folder alone\n{}",
            drizzle::first_difference(reference_dump, &dump)
        ));
    }
    Ok(Outcome::Same)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_hand_off_order_ends_with_drizzle_s_rows_and_schema() {
    let history = history();
    drizzle::ensure_node_project();
    drizzle1::ensure_project();
    // The reference: drizzle-orm 1.0 applying the whole converted folder to a fresh database.
    let reference = TestDatabase::empty().await.unwrap();
    drizzle1::migrate(&history.v1_dir, &reference.url, None).unwrap();
    let reference_dump = Arc::new(drizzle::schema_dump(&reference.url));
    assert!(reference_dump.contains("name text,"), "{reference_dump}");

    /// The order of actors, then optionally N concurrent boots of an app-db actor.
    type Cell = (Vec<Actor>, Option<(Actor, usize)>);
    let mut cells: Vec<Cell> = Vec::new();
    for a in ACTORS {
        for b in ACTORS {
            for c in ACTORS {
                cells.push((vec![a, b, c], None));
            }
        }
    }
    // Eight replicas booting at once: on a 0.x table drizzle-orm 0.45 started (one upgrades
    // and applies, seven find it done); on a 1.0 table with the journal folder; and on a 1.0
    // table where drizzle-orm 0.45 left a row without a name.
    cells.push((vec![Actor::D0], Some((Actor::AF, 8))));
    cells.push((vec![Actor::D1], Some((Actor::AJ, 8))));
    cells.push((vec![Actor::AF, Actor::AJ, Actor::D0], Some((Actor::AF, 8))));
    // The report, without app-db in between: drizzle-orm 0.45 writes a row without a
    // name on a 1.0 table, and drizzle-orm 1.0 on the whole folder then runs it again (the
    // same order with app-db after drizzle-orm 0.45 is cell 57 and its final checks).
    cells.push((vec![Actor::AF, Actor::AJ, Actor::D0, Actor::D1], None));

    let permits = Arc::new(Semaphore::new(3));
    let mut tasks = tokio::task::JoinSet::new();
    for (number, (order, concurrent)) in cells.into_iter().enumerate() {
        let permits = Arc::clone(&permits);
        let reference_dump = Arc::clone(&reference_dump);
        tasks.spawn(async move {
            let _permit = permits.acquire_owned().await.expect("open semaphore");
            let outcome = cell(&order, concurrent, &reference_dump).await;
            (number, order, concurrent, outcome)
        });
    }
    let mut results = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        results.push(joined.expect("a cell's task ran"));
    }
    results.sort_by_key(|(number, ..)| *number);

    let mut report = String::new();
    let (mut same, mut drizzle_fails, mut wrong) = (0, 0, 0);
    for (number, order, concurrent, outcome) in &results {
        let mut name = cell_name(order);
        if let Some((actor, boots)) = concurrent {
            let _ = write!(name, " → {boots} concurrent {}", actor.label());
        }
        let line = match outcome {
            Ok(Outcome::Same) => {
                same += 1;
                "same rows and schema".to_string()
            }
            Ok(Outcome::DrizzleFails { step, why }) => {
                drizzle_fails += 1;
                format!("drizzle-orm fails at step {step}, as predicted: {why}")
            }
            Err(difference) => {
                wrong += 1;
                format!("WRONG: {difference}")
            }
        };
        let _ = writeln!(report, "cell {:>2}: {name}: {line}", number + 1);
    }
    let _ = writeln!(
        report,
        "{} cells: {same} with drizzle's rows and schema, {drizzle_fails} where drizzle-orm itself fails (predicted), {wrong} wrong",
        results.len()
    );
    println!("{report}");
    assert_eq!(wrong, 0, "\n{report}");
    // Every order that involves app-db completes, whatever drizzle-orm did before it (the
    // failures are drizzle's own steps).
    for (_, order, _, outcome) in &results {
        if let Ok(Outcome::DrizzleFails { step, .. }) = outcome {
            assert!(
                matches!(order[step - 1], Actor::D0 | Actor::D1),
                "an app-db step failed: {}",
                cell_name(order)
            );
        }
    }
}
