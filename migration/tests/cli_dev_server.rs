//! The embedded development server through the CLI: `db start|status|url|stop`, and commands
//! without a URL using it. Each test keeps its cluster in a folder of its own
//! (`APP_DB_DEV_DIR`) and stops it at the end, even when an assertion fails.

use std::path::PathBuf;
use std::process::Command;

use sqlx::{Connection, PgConnection};

/// Runs the binary with the dev folder set and no DATABASE_URL.
fn dev(dir: &PathBuf, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_migration"))
        .args(args)
        .env_remove("DATABASE_URL")
        .env("APP_DB_DEV_DIR", dir)
        .env("APP_DB_LOG", "warn")
        .env("NO_COLOR", "1")
        .output()
        .expect("the migration binary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Stops the dev server and removes its folder when the test ends, however it ends.
struct DevFolder(PathBuf);

impl Drop for DevFolder {
    fn drop(&mut self) {
        let _ = dev(&self.0, &["db", "stop"]);
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn dev_folder(label: &str) -> DevFolder {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    // Under /tmp: when the tests run as root, the server account must reach the folder.
    DevFolder(
        std::env::temp_dir().join(format!("app-db-dev-{label}-{}-{nanos}", std::process::id())),
    )
}

#[tokio::test]
async fn db_start_url_status_stop_and_psql_sees_postgres_16_with_pgvector() {
    let folder = dev_folder("lifecycle");
    let (code, stdout, stderr) = dev(&folder.0, &["db", "start"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let url = stdout.trim().to_string();
    assert!(
        url.starts_with("postgres://postgres@127.0.0.1:") && url.ends_with("/app"),
        "{url}"
    );
    let (_, again, _) = dev(&folder.0, &["db", "url"]);
    assert_eq!(again.trim(), url, "db url reuses the running server");
    let (_, status, _) = dev(&folder.0, &["db", "status"]);
    assert!(
        status.contains("running") && status.contains(&url),
        "{status}"
    );

    let mut conn = PgConnection::connect(&url)
        .await
        .expect("connect to the dev server");
    sqlx::raw_sql("create extension if not exists vector")
        .execute(&mut conn)
        .await
        .expect("pgvector is installed");
    let version: String = sqlx::query_scalar("select version()")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert!(version.starts_with("PostgreSQL 16.11"), "{version}");
    let pgvector: String =
        sqlx::query_scalar("select extversion from pg_extension where extname = 'vector'")
            .fetch_one(&mut conn)
            .await
            .unwrap();
    assert_eq!(pgvector, "0.8.1");
    conn.close().await.unwrap();

    let (code, _, stderr) = dev(&folder.0, &["db", "stop"]);
    assert_eq!(code, 0, "{stderr}");
    let (_, status, _) = dev(&folder.0, &["db", "status"]);
    assert!(status.contains("stopped"), "{status}");
    // A second start reuses the cluster (and its port when free).
    let (code, restarted, stderr) = dev(&folder.0, &["db", "start"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        restarted
            .trim()
            .starts_with("postgres://postgres@127.0.0.1:"),
        "{restarted}"
    );
}

#[tokio::test]
async fn commands_without_a_url_start_the_dev_server_and_say_where_they_went() {
    let folder = dev_folder("nourl");
    let (code, stdout, stderr) = dev(&folder.0, &["up"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(
        stderr.contains("using the embedded development server: postgres://postgres@127.0.0.1:"),
        "{stderr}"
    );
    assert!(stdout.contains("applied 9 migration(s)"), "{stdout}");
    let (code, stdout, _) = dev(&folder.0, &["status", "--json"]);
    assert_eq!(code, 0);
    let status: serde_json::Value = serde_json::from_str(&stdout).expect("status --json is JSON");
    assert_eq!(status["pending"], 0);
    assert_eq!(status["drift"], false);
}
