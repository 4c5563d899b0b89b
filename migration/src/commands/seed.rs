//! `seed`: the initial data, or demo data at scale.

use std::time::Instant;

use app_db::Error;
use app_db::seed::demo::{DemoOptions, DemoPhase, DemoProgress};
use app_db::seed::{INITIAL, SeedRequest};
use indicatif::{ProgressBar, ProgressStyle};

use crate::cli::{GlobalArgs, SeedArgs};
use crate::exit;
use crate::target::Target;

pub async fn run(global: &GlobalArgs, args: &SeedArgs) -> Result<u8, Error> {
    let target = Target::resolve(global).await?;
    let db = target.pool(2).await?;
    if !args.demo {
        let request = if args.update {
            SeedRequest::UpdateIfChanged
        } else {
            SeedRequest::IfNew
        };
        let outcome = app_db::seed::run(&db, &INITIAL, request, &super::reader(global)).await?;
        println!("{outcome}");
        return Ok(exit::OK);
    }
    let options = DemoOptions {
        orgs: args.orgs,
        users_per_org: args.users_per_org,
        usage_per_org: args.usage_per_org,
        sources_per_org: args.sources_per_org,
        chunks_per_source: args.chunks_per_source,
        seed: args.seed,
        ..DemoOptions::with_orgs(args.orgs)
    };
    let bar = ProgressBar::new(u64::from(options.orgs));
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:40} {pos}/{len} {msg} ({eta} left)",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_message("organizations");
    let started = Instant::now();
    let report = app_db::seed::demo::generate(
        &db,
        &options,
        &super::reader(global),
        &mut |p: DemoProgress| match p.phase {
            DemoPhase::Organizations => bar.set_position(u64::from(p.done)),
            // The vector index is built after the load: the same bar, now counting its rows.
            DemoPhase::Index { done, total } => {
                if bar.length() != Some(total) {
                    bar.set_length(total);
                    bar.set_message("chunks indexed (HNSW)");
                }
                bar.set_position(done);
            }
        },
    )
    .await;
    bar.finish_and_clear();
    let report = report?;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "demo data: {} organization(s) created, {} already present, {} repaired; {} rows ({} chunks) in {:.1} s; generation {:.1} s, other rows {:.1} s, COPY {:.1} s ({:.0} chunks/s){}",
        report.orgs_created,
        report.orgs_skipped,
        report.orgs_repaired,
        report.rows,
        report.chunks,
        secs,
        report.generate_time.as_secs_f64(),
        report.rows_time.as_secs_f64(),
        report.copy_time.as_secs_f64(),
        if report.copy_time.is_zero() {
            0.0
        } else {
            report.chunks as f64 / report.copy_time.as_secs_f64()
        },
        match report.index_time {
            Some(t) => format!("; HNSW index rebuilt in {:.1} s", t.as_secs_f64()),
            None => String::new(),
        }
    );
    Ok(exit::OK)
}
