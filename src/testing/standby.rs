//! A real physical standby of the process's embedded test server, for the read replica tests.
//!
//! [`Standby::start`] copies the running test server with `pg_basebackup -R -X stream` into a
//! folder of its own and starts the copy on another free port of 127.0.0.1: a hot standby that
//! streams the primary's WAL and serves read-only queries, every database of the primary
//! included (those created later arrive by replication). It runs as the primary's account,
//! dies with the test process however that ends, and is stopped and removed on drop.
//!
//! Tests can pause its replay ([`Standby::pause_replay`]), freeze it so it accepts TCP
//! connections and never answers ([`Standby::freeze`]), or stop it ([`Standby::stop`]).
//!
//! Nothing skips: with `TEST_DATABASE_URL` (no embedded server to copy) it fails saying so.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use sqlx::Connection;

use super::TestServer;
use crate::Error;
use crate::embedded::{Cluster, RunningServer};
use crate::replica::WalPosition;

static NEXT: AtomicU32 = AtomicU32::new(0);

/// A running hot standby of the test server, stopped and removed on drop.
#[derive(Debug)]
pub struct Standby {
    server: Option<RunningServer>,
    port: u16,
    pid: u32,
    root: PathBuf,
    /// The replication slot on the primary that keeps the WAL this standby needs.
    slot: String,
    primary_url: String,
}

impl Standby {
    /// Copies the process's embedded test server and starts the copy as its standby.
    pub fn start() -> Result<Self, Error> {
        let test_server = TestServer::get()?;
        let (primary, primary_port) = test_server.embedded_cluster().ok_or_else(|| Error::Refused {
            reason: "a standby copies the embedded test server, and TEST_DATABASE_URL replaces it".into(),
            fix: "unset TEST_DATABASE_URL for the replica tests (they start a standby of the embedded server with pg_basebackup)".into(),
        })?;
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let root = primary.root().with_file_name(format!(
            "{}-standby-{n}",
            primary
                .root()
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
        ));
        let _ = std::fs::remove_dir_all(&root);
        let cluster: Cluster = primary.sibling(root.clone())?;
        let slot = format!("app_db_standby_{}_{n}", std::process::id());
        let mut standby = Self {
            server: None,
            port: 0,
            pid: 0,
            root,
            slot,
            primary_url: test_server.admin_url().to_string(),
        };
        // From here on, dropping `standby` drops the slot and the folder, whatever fails.
        on_primary(
            &standby.primary_url,
            "select pg_create_physical_replication_slot($1, true)",
            &standby.slot,
        )?;
        cluster.base_backup_from(primary_port, &standby.slot)?;
        let server = cluster.start_child()?;
        standby.port = server.port;
        standby.pid = server.pid;
        standby.server = Some(server);
        Ok(standby)
    }

    /// The standby's port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The standby's postmaster process id.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// The URL of `database` on the standby (the test server's superuser, no password).
    pub fn url_for(&self, database: &str) -> String {
        crate::embedded::cluster::local_url(self.port, database)
    }

    /// The standby's server log so far (for failure messages).
    pub fn log(&self) -> String {
        crate::embedded::log_tail(&self.root.join("server.log"), 30)
    }

    /// Pauses WAL replay (`pg_wal_replay_pause()`): the standby keeps receiving WAL and
    /// answering queries, on data that stops moving.
    pub async fn pause_replay(&self) -> Result<(), Error> {
        self.run("select pg_wal_replay_pause()").await
    }

    /// Resumes WAL replay (`pg_wal_replay_resume()`).
    pub async fn resume_replay(&self) -> Result<(), Error> {
        self.run("select pg_wal_replay_resume()").await
    }

    /// Its `pg_last_wal_replay_lsn()`.
    pub async fn replay_position(&self) -> Result<WalPosition, Error> {
        let mut conn = self.admin().await?;
        let text: String = sqlx::query_scalar("select pg_last_wal_replay_lsn()::text")
            .fetch_one(&mut conn)
            .await?;
        let _ = conn.close().await;
        text.parse()
            .map_err(|e: crate::replica::BadWalPosition| Error::Refused {
                reason: e.to_string(),
                fix: "check the standby's log".into(),
            })
    }

    /// Waits until the standby has replayed `position` (e.g. the primary's
    /// `pg_current_wal_insert_lsn()` after creating a database), at most `timeout`.
    pub async fn wait_replayed(
        &self,
        position: WalPosition,
        timeout: Duration,
    ) -> Result<(), Error> {
        let deadline = Instant::now() + timeout;
        loop {
            let replay = self.replay_position().await?;
            if replay >= position {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(Error::Refused {
                    reason: format!(
                        "the standby replayed up to {replay}, not {position}, within {timeout:?}; its log ends with:\n{}",
                        self.log()
                    ),
                    fix: "check the standby's log".into(),
                });
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Stops every process of the standby (`SIGSTOP`): it keeps its port, the kernel accepts
    /// TCP connections for it, and nothing answers, as with a host that hangs. Resumed when
    /// the returned guard is dropped.
    pub fn freeze(&self) -> Frozen {
        let pids = process_tree(self.pid);
        for pid in &pids {
            // SAFETY: a plain signal to a process of the standby this value started.
            unsafe { libc::kill(*pid as libc::pid_t, libc::SIGSTOP) };
        }
        Frozen { pids }
    }

    /// Stops the standby (fast shutdown) and waits for it to exit: its port refuses
    /// connections from then on.
    pub fn stop(&mut self) {
        if let Some(server) = self.server.take() {
            server.stop();
        }
    }

    async fn admin(&self) -> Result<sqlx::PgConnection, Error> {
        let url = self.url_for("postgres");
        sqlx::PgConnection::connect(&url)
            .await
            .map_err(|e| Error::connect(&url, e))
    }

    async fn run(&self, sql: &'static str) -> Result<(), Error> {
        let mut conn = self.admin().await?;
        sqlx::query(sql).execute(&mut conn).await?;
        let _ = conn.close().await;
        Ok(())
    }
}

impl Drop for Standby {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.root);
        // Without its standby the slot would keep WAL on the primary forever.
        let _ = on_primary(
            &self.primary_url,
            "select pg_drop_replication_slot(slot_name) from pg_replication_slots where slot_name = $1",
            &self.slot,
        );
    }
}

/// Runs `sql` with `$1` = `slot` on the primary, from synchronous code that may itself run
/// inside a test's runtime (which cannot be blocked on): on a thread and runtime of its own.
fn on_primary(url: &str, sql: &'static str, slot: &str) -> Result<(), Error> {
    let (url, slot) = (url.to_string(), slot.to_string());
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|source| Error::Io {
                action: "start a runtime for",
                path: PathBuf::from("the standby's replication slot"),
                source,
            })?;
        runtime.block_on(async {
            let mut conn = sqlx::PgConnection::connect(&url)
                .await
                .map_err(|e| Error::connect(&url, e))?;
            sqlx::query(sql).bind(&slot).execute(&mut conn).await?;
            let _ = conn.close().await;
            Ok(())
        })
    })
    .join()
    .unwrap_or_else(|_| {
        Err(Error::Refused {
            reason: "the thread managing the standby's replication slot stopped".into(),
            fix: "check the test server's log".into(),
        })
    })
}

/// A frozen standby: its processes continue (`SIGCONT`) when this is dropped.
#[derive(Debug)]
pub struct Frozen {
    pids: Vec<u32>,
}

impl Drop for Frozen {
    fn drop(&mut self) {
        for pid in &self.pids {
            // SAFETY: a plain signal to a process this guard stopped.
            unsafe { libc::kill(*pid as libc::pid_t, libc::SIGCONT) };
        }
    }
}

/// `root` and every process below it, parents first (from `/proc/<pid>/stat`'s parent field).
fn process_tree(root: u32) -> Vec<u32> {
    let parents: Vec<(u32, u32)> = std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(entry.path().join("stat")).ok()?;
            // `pid (comm) state ppid …`: comm may hold spaces and parentheses, so read after
            // the last `)`.
            let after = &stat[stat.rfind(')')? + 1..];
            let ppid: u32 = after.split_whitespace().nth(1)?.parse().ok()?;
            Some((pid, ppid))
        })
        .collect();
    let mut tree = vec![root];
    let mut i = 0;
    while i < tree.len() {
        let parent = tree[i];
        tree.extend(
            parents
                .iter()
                .filter(|(_, ppid)| *ppid == parent)
                .map(|(pid, _)| *pid),
        );
        i += 1;
    }
    tree
}
