//! A real PgBouncer in transaction pooling mode in front of the process's test server.
//!
//! Each [`PgBouncer`] has its own folder (ini file, user list, log), listens on a free port of
//! 127.0.0.1 without a unix socket, and forwards every database name to the test server with
//! the server's own authentication (trust, for the embedded server). It runs as the account
//! the embedded PostgreSQL runs as (PgBouncer, like PostgreSQL, will not run as root), is
//! stopped when the value is dropped, and dies with the test process however that ends (the
//! kernel signals it, as it does the embedded server).
//!
//! Nothing skips: when `pgbouncer` is not installed, [`PgBouncer::start`] fails saying how to
//! install it.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::TestServer;
use crate::Error;
use crate::embedded::ServerAccount;
use crate::embedded::cluster::{free_port, spawn_tied_to_process};

/// How long PgBouncer may take to accept connections.
const READY_TIMEOUT: Duration = Duration::from_secs(20);
/// Lines of PgBouncer's log quoted in an error.
const LOG_LINES: usize = 15;

static NEXT: AtomicU32 = AtomicU32::new(0);

/// A running PgBouncer (transaction pooling), stopped on drop.
#[derive(Debug)]
pub struct PgBouncer {
    port: u16,
    pid: u32,
    user: String,
    dir: PathBuf,
    exited: std::sync::Mutex<mpsc::Receiver<()>>,
}

impl PgBouncer {
    /// Starts a PgBouncer in front of this process's test server.
    pub fn start() -> Result<Self, Error> {
        let server = TestServer::get()?;
        let options: sqlx::postgres::PgConnectOptions = server.admin_url().parse()?;
        let program = find_pgbouncer()?;
        let account = ServerAccount::detect()?;
        let dir = std::env::temp_dir().join(format!(
            "app-db-pgbouncer-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        account.own_dir(&dir)?;
        account.check_reachable(&dir, "the PgBouncer folder")?;
        let target = Target {
            host: options.get_host().to_string(),
            port: options.get_port(),
            user: options.get_username().to_string(),
        };
        let mut last_error = None;
        // A free port can be taken between choosing and binding it: retry with another.
        for _ in 0..5 {
            let port = free_port()?;
            match try_start(&program, &account, &dir, &target, port) {
                Ok((pid, exited)) => {
                    return Ok(Self {
                        port,
                        pid,
                        user: target.user,
                        dir,
                        exited: std::sync::Mutex::new(exited),
                    });
                }
                Err((e, port_taken)) => {
                    if !port_taken {
                        return Err(e);
                    }
                    last_error = Some(e);
                }
            }
        }
        Err(last_error.unwrap_or_else(|| refused("no free port found on 127.0.0.1".into())))
    }

    /// PgBouncer's process id.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// The port PgBouncer listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The URL of `database` through PgBouncer (the test server's user, no password).
    pub fn url_for(&self, database: &str) -> String {
        format!(
            "postgres://{}@127.0.0.1:{}/{database}",
            self.user, self.port
        )
    }

    /// PgBouncer's log so far (for failure messages).
    pub fn log(&self) -> String {
        crate::embedded::log_tail(&self.dir.join("pgbouncer.log"), LOG_LINES)
    }
}

impl Drop for PgBouncer {
    fn drop(&mut self) {
        // SIGTERM is PgBouncer's immediate shutdown; its clients are this test's, and done.
        // SAFETY: a plain signal to the child this value started.
        unsafe { libc::kill(self.pid as libc::pid_t, libc::SIGTERM) };
        let stopped = self
            .exited
            .lock()
            .map(|rx| rx.recv_timeout(Duration::from_secs(10)).is_ok())
            .unwrap_or(false);
        if !stopped {
            // SAFETY: as above.
            unsafe { libc::kill(self.pid as libc::pid_t, libc::SIGKILL) };
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Where PgBouncer forwards connections.
struct Target {
    host: String,
    port: u16,
    user: String,
}

/// The ini file: every database name goes to the test server; transaction pooling.
fn ini(dir: &Path, target: &Target, port: u16) -> String {
    format!(
        "[databases]\n\
         * = host={host} port={server_port}\n\
         \n\
         [pgbouncer]\n\
         listen_addr = 127.0.0.1\n\
         listen_port = {port}\n\
         unix_socket_dir =\n\
         auth_type = trust\n\
         auth_file = {users}\n\
         pool_mode = transaction\n\
         ; sqlx sends extra_float_digits at connect time; PgBouncer refuses unknown startup\n\
         ; parameters unless told to ignore them.\n\
         ignore_startup_parameters = extra_float_digits\n\
         max_client_conn = 500\n\
         default_pool_size = 20\n\
         ; Hand out idle server connections in turn rather than the most recently used one, as\n\
         ; under load: a client's consecutive transactions then visibly land on different\n\
         ; server sessions whenever several are idle.\n\
         server_round_robin = 1\n",
        host = target.host,
        server_port = target.port,
        users = dir.join("userlist.txt").display(),
    )
}

/// Starts one PgBouncer on `port`; on failure also says whether the port was the problem.
fn try_start(
    program: &Path,
    account: &ServerAccount,
    dir: &Path,
    target: &Target,
    port: u16,
) -> Result<(u32, mpsc::Receiver<()>), (Error, bool)> {
    let io = |action: &'static str, path: &Path| {
        let path = path.to_path_buf();
        move |source| {
            (
                Error::Io {
                    action,
                    path,
                    source,
                },
                false,
            )
        }
    };
    let conf = dir.join("pgbouncer.ini");
    std::fs::write(&conf, ini(dir, target, port)).map_err(io("write", &conf))?;
    let users = dir.join("userlist.txt");
    std::fs::write(&users, format!("\"{}\" \"\"\n", target.user)).map_err(io("write", &users))?;
    let log = dir.join("pgbouncer.log");
    let log_file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log)
        .map_err(io("open", &log))?;
    let log_err = log_file.try_clone().map_err(io("open", &log))?;
    let mut cmd = Command::new(program);
    cmd.arg(&conf)
        .stdin(Stdio::null())
        .stdout(log_file)
        .stderr(log_err);
    account.apply(&mut cmd);
    // SIGTERM is PgBouncer's immediate shutdown (SIGINT would wait for its clients).
    let (pid, exited) = spawn_tied_to_process(cmd, format!("pgbouncer-{port}"), libc::SIGTERM)
        .map_err(io("run", program))?;
    let deadline = Instant::now() + READY_TIMEOUT;
    loop {
        if exited.try_recv().is_ok() {
            let tail = crate::embedded::log_tail(&log, LOG_LINES);
            let port_taken = tail.contains("Address already in use");
            return Err((
                refused(format!(
                    "pgbouncer did not start; its log ends with:\n{tail}"
                )),
                port_taken,
            ));
        }
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok((pid, exited));
        }
        if Instant::now() > deadline {
            // SAFETY: a plain signal to the child we started.
            unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
            let tail = crate::embedded::log_tail(&log, LOG_LINES);
            return Err((
                refused(format!(
                    "pgbouncer did not accept connections within {READY_TIMEOUT:?}; its log ends with:\n{tail}"
                )),
                false,
            ));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn refused(reason: String) -> Error {
    Error::Refused {
        reason,
        fix: "check the pgbouncer installation (apt-get install pgbouncer) and the log above"
            .into(),
    }
}

/// `pgbouncer` on `PATH`, or where Debian installs it (`/usr/sbin`, often not on a user's PATH).
fn find_pgbouncer() -> Result<PathBuf, Error> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    find_in(
        std::env::split_paths(&path)
            .chain(["/usr/sbin".into(), "/usr/local/sbin".into()])
            .collect(),
    )
}

fn find_in(dirs: Vec<PathBuf>) -> Result<PathBuf, Error> {
    dirs.into_iter()
        .map(|dir| dir.join("pgbouncer"))
        .find(|candidate| candidate.is_file())
        .ok_or_else(|| Error::Refused {
            reason: "pgbouncer is not installed (not on PATH, /usr/sbin or /usr/local/sbin); the pooler tests run a real one".into(),
            fix: "install pgbouncer: apt-get install pgbouncer".into(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_pgbouncer_says_how_to_install_it() {
        let empty =
            std::env::temp_dir().join(format!("app-db-no-pgbouncer-{}", std::process::id()));
        std::fs::create_dir_all(&empty).unwrap();
        let message = find_in(vec![empty.clone()]).unwrap_err().to_string();
        let _ = std::fs::remove_dir_all(&empty);
        assert!(
            message.contains("install pgbouncer: apt-get install pgbouncer"),
            "{message}"
        );
    }

    #[test]
    fn the_ini_pools_transactions_and_ignores_the_sqlx_startup_parameter() {
        let target = Target {
            host: "127.0.0.1".into(),
            port: 5999,
            user: "postgres".into(),
        };
        let text = ini(Path::new("/tmp/x"), &target, 6001);
        for line in [
            "* = host=127.0.0.1 port=5999",
            "listen_port = 6001",
            "pool_mode = transaction",
            "ignore_startup_parameters = extra_float_digits",
            "auth_file = /tmp/x/userlist.txt",
            "unix_socket_dir =\n",
        ] {
            assert!(text.contains(line), "missing {line:?} in\n{text}");
        }
    }
}
