//! What `mark-applied` and `baseline` share: set up the recorder, print its report.

use app_db::Error;
use app_db::recovery::{RecordOptions, RecordReport, Recorder};

use crate::cli::{GlobalArgs, VerifyArgs};
use crate::exit;
use crate::target::Target;

/// Which recovery command runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    MarkApplied,
    Baseline,
}

pub async fn run(
    global: &GlobalArgs,
    tag: &str,
    args: &VerifyArgs,
    kind: Kind,
) -> Result<u8, Error> {
    let target = Target::resolve(global).await?;
    let migrator = super::migrator(global, &target, &args.lock, None);
    let scratch_server = args
        .scratch_url
        .as_deref()
        .map(|raw| app_db::url::DbUrl::parse(raw, "--scratch-url"))
        .transpose()?
        .map(|url| app_db::recovery::ScratchServer::from(&url));
    let options = RecordOptions {
        app_schemas: global.database_schema.clone(),
        scratch_server,
        dry_run: args.dry_run,
    };
    if !migrator.migration_list().iter().any(|m| m.tag == tag) {
        return Err(Error::UnknownTag {
            tag: tag.to_string(),
            known: migrator
                .migration_list()
                .iter()
                .map(|m| m.tag.to_string())
                .collect(),
        });
    }
    let mut conn = target.connect().await?;
    eprintln!(
        "verifying the schema of {} against the migrations up to {tag}, replayed on a scratch database …",
        target.redacted()
    );
    let recorder = Recorder::new(&migrator, target.url(), options);
    let report = match kind {
        Kind::MarkApplied => recorder.mark_applied(&mut conn, tag).await?,
        Kind::Baseline => recorder.baseline(&mut conn, tag).await?,
    };
    print_report(&report, &migrator);
    let rows = migrator.applied_rows(&mut conn).await?;
    let pending = migrator.assess(&rows).pending_count();
    if !report.dry_run && pending > 0 {
        println!("next: `migration up` applies the {pending} pending migration(s)");
    }
    Ok(exit::OK)
}

fn print_report(report: &RecordReport, migrator: &app_db::Migrator) {
    println!(
        "schema matches: {} object(s) in {} equal to the migrations replayed on {} ({}, dropped since)",
        report.compared_objects,
        report.schemas.join(", "),
        report.scratch_database,
        report.scratch_server
    );
    let tags: Vec<&str> = report.recorded.iter().map(|m| m.tag).collect();
    if report.dry_run {
        println!(
            "dry run: would record {} migration(s) as applied in {}: {}",
            tags.len(),
            migrator.bookkeeping_table().qualified(),
            tags.join(", ")
        );
    } else {
        println!(
            "recorded {} migration(s) as applied in {}: {}",
            tags.len(),
            migrator.bookkeeping_table().qualified(),
            tags.join(", ")
        );
    }
}
