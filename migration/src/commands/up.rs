//! `up`: apply pending migrations.

use app_db::embedded::DevServer;
use app_db::migrate::Progress;
use app_db::{Config, Error};

use crate::cli::GlobalArgs;
use crate::exit;

pub async fn run(global: GlobalArgs) -> Result<u8, Error> {
    let url = match global.database_url {
        Some(url) => url,
        None => {
            let server = DevServer::locate()?;
            let status = server.ensure_running().await?;
            let url = DevServer::url(status.port);
            eprintln!("no DATABASE_URL: using the embedded development server at {url}");
            url
        }
    };
    let mut config = Config::from_env()?.database_url(url.clone());
    config.migrate = false;
    config.pool.min = 0;
    config.pool.max = 1;
    let (db, _) = app_db::init::open(&config).await?;
    let mut conn = db.get_postgres_connection_pool().acquire().await?;
    let report = config
        .migrator()
        .run_with(&mut conn, None, &mut |p| match p {
            Progress::WaitingForLock => {}
            Progress::Started {
                migration,
                position,
                total,
            } => {
                eprintln!("[{position}/{total}] applying {}", migration.tag)
            }
            Progress::Finished { migration, elapsed } => {
                eprintln!(
                    "        {} done in {:.1} ms",
                    migration.tag,
                    elapsed.as_secs_f64() * 1e3
                )
            }
        })
        .await?;
    for warning in &report.warnings {
        eprintln!("warning: {warning}");
    }
    if report.applied.is_empty() {
        println!("database is up to date ({})", app_db::url::redact(&url));
    } else {
        println!(
            "applied {} migration(s) to {}",
            report.applied.len(),
            app_db::url::redact(&url)
        );
    }
    Ok(exit::OK)
}
