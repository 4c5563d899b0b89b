//! One PostgreSQL cluster: initdb, start, readiness, stop.
//!
//! Two ways to run it:
//! - [`Cluster::start_child`]: the server is a child of this process and dies with it (the
//!   kernel sends it SIGINT, a fast shutdown, when the thread that started it exits). Test
//!   servers run this way, so no postgres outlives a test run, a panic, Ctrl-C or `kill -9`.
//! - [`Cluster::start_daemon`]: `pg_ctl start` in its own process group, surviving this
//!   process and Ctrl-C. The development server runs this way until `db stop`.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::{PgBinaries, ServerAccount, log_tail};
use crate::Error;

/// How long a server may take to accept connections.
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// Lines of server log quoted in an error.
const LOG_LINES: usize = 15;

/// Settings for a new cluster.
#[derive(Debug, Clone)]
pub struct ClusterOptions {
    /// Throwaway clusters (tests) skip fsync and friends: several times faster, and a crash only
    /// loses data nobody keeps.
    pub durable: bool,
}

/// A cluster's folder and the programs and account that run it.
#[derive(Debug, Clone)]
pub struct Cluster {
    binaries: PgBinaries,
    account: ServerAccount,
    root: PathBuf,
}

/// A server started by [`Cluster::start_child`].
#[derive(Debug)]
pub struct RunningServer {
    /// The TCP port on 127.0.0.1.
    pub port: u16,
    /// The postmaster's process id.
    pub pid: u32,
    exited: std::sync::Mutex<mpsc::Receiver<()>>,
}

impl Cluster {
    /// A cluster kept in `root` (`root/data` is the data folder, `root/server.log` its log).
    /// `root` is created and handed to the server account.
    pub fn new(binaries: PgBinaries, account: ServerAccount, root: PathBuf) -> Result<Self, Error> {
        account.own_dir(&root)?;
        account.check_reachable(&root, "the server's data folder")?;
        Ok(Self {
            binaries,
            account,
            root,
        })
    }

    /// Another cluster in `root`, run by the same programs and account (e.g. a standby).
    pub fn sibling(&self, root: PathBuf) -> Result<Self, Error> {
        Self::new(self.binaries.clone(), self.account.clone(), root)
    }

    /// The folder holding the data folder and the logs.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The data folder.
    pub fn data_dir(&self) -> PathBuf {
        self.root.join("data")
    }

    /// The server log.
    pub fn log_path(&self) -> PathBuf {
        self.root.join("server.log")
    }

    /// Whether initdb has run here.
    pub fn is_initialized(&self) -> bool {
        self.data_dir().join("PG_VERSION").is_file()
    }

    /// Runs initdb: UTF8, the `postgres` superuser, trust authentication, loopback only.
    pub fn init(&self, options: &ClusterOptions) -> Result<(), Error> {
        let data = self.data_dir();
        let log = self.root.join("initdb.log");
        let log_file = File::create(&log).map_err(|source| Error::Io {
            action: "create",
            path: log.clone(),
            source,
        })?;
        let mut cmd = Command::new(self.binaries.program("initdb"));
        cmd.arg("-D")
            .arg(&data)
            .args(["-U", "postgres", "-E", "UTF8", "--locale=C"])
            // Trust is safe only because the server listens on 127.0.0.1 alone (below) and has
            // no unix socket; pg_hba's host lines are the loopback ones.
            .args([
                "--auth-local=trust",
                "--auth-host=trust",
                "--no-instructions",
            ])
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().map_err(|source| Error::Io {
                action: "open",
                path: log.clone(),
                source,
            })?)
            .stderr(log_file);
        if !options.durable {
            cmd.arg("--no-sync");
        }
        let status = self.run(cmd, "initdb")?;
        if !status.success() {
            return Err(Error::InitDb {
                data_dir: data,
                log_tail: log_tail(&log, LOG_LINES),
            });
        }
        let mut settings = String::from(
            "\n# app-db: loopback only, TCP only (the port is given at start)\n\
             listen_addresses = '127.0.0.1'\n\
             unix_socket_directories = ''\n\
             max_connections = 200\n",
        );
        settings.push_str(&super::settings::for_this_machine(self.binaries.bin_dir()));
        if !options.durable {
            settings.push_str("fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n");
            // Tests run standbys of the test server side by side (`testing::standby`): each
            // streams through one WAL sender, and pg_basebackup needs two while it copies.
            settings.push_str("max_wal_senders = 40\n");
        }
        let conf = data.join("postgresql.conf");
        OpenOptions::new()
            .append(true)
            .open(&conf)
            .and_then(|mut f| f.write_all(settings.as_bytes()))
            .map_err(|source| Error::Io {
                action: "write",
                path: conf,
                source,
            })?;
        Ok(())
    }

    /// Makes this cluster a physical standby of the server on `127.0.0.1:source_port`:
    /// `pg_basebackup -R -X stream` copies its data folder (with an immediate checkpoint, so it
    /// does not wait for a spread one) and writes `standby.signal` and `primary_conninfo`.
    /// Started with [`Cluster::start_child`], it streams the primary's WAL and serves read-only
    /// queries (`hot_standby` is on by default). The source's `pg_hba.conf` must allow
    /// replication connections (initdb's trust default allows them from the loopback).
    ///
    /// `slot` names a physical replication slot of the source, created beforehand with its WAL
    /// reserved (`pg_create_physical_replication_slot(name, true)`), that the copy streams
    /// through and the standby uses after (`primary_slot_name`): the source keeps every WAL
    /// segment both still need, whatever checkpoints happen meanwhile (pg_basebackup's own
    /// `-C` creates its slot only once the copy has started, leaving a window). Whoever
    /// creates it drops it when the standby is gone (`pg_drop_replication_slot`).
    pub fn base_backup_from(&self, source_port: u16, slot: &str) -> Result<(), Error> {
        let log = self.root.join("basebackup.log");
        let log_file = File::create(&log).map_err(|source| Error::Io {
            action: "create",
            path: log.clone(),
            source,
        })?;
        let mut cmd = Command::new(self.binaries.program("pg_basebackup"));
        cmd.args([
            "-h",
            "127.0.0.1",
            "-p",
            &source_port.to_string(),
            "-U",
            "postgres",
        ])
        .arg("-D")
        .arg(self.data_dir())
        .args(["-R", "-X", "stream", "--checkpoint=fast", "--no-sync"])
        .args(["-S", slot])
        .stdin(Stdio::null())
        .stdout(log_file.try_clone().map_err(|source| Error::Io {
            action: "open",
            path: log.clone(),
            source,
        })?)
        .stderr(log_file);
        let status = self.run(cmd, "pg_basebackup")?;
        if !status.success() {
            return Err(Error::ServerStart {
                data_dir: self.data_dir(),
                log_tail: format!(
                    "pg_basebackup from port {source_port} failed:\n{}",
                    log_tail(&log, LOG_LINES)
                ),
            });
        }
        Ok(())
    }

    /// Starts the server as a child of this process on a free port; it stops when this process
    /// ends, however it ends.
    pub fn start_child(&self) -> Result<RunningServer, Error> {
        let mut last_error = None;
        // A free port can be taken by someone else between choosing and binding it: retry.
        for _ in 0..5 {
            let port = free_port()?;
            match self.try_start_child(port) {
                Ok(server) => return Ok(server),
                Err(StartFailure::PortTaken(e)) => last_error = Some(e),
                Err(StartFailure::Fatal(e)) => return Err(e),
            }
        }
        Err(last_error.unwrap_or_else(|| Error::ServerStart {
            data_dir: self.data_dir(),
            log_tail: "no free port found on 127.0.0.1".into(),
        }))
    }

    fn try_start_child(&self, port: u16) -> Result<RunningServer, StartFailure> {
        let log = self.log_path();
        let log_file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .map_err(|source| {
                StartFailure::Fatal(Error::Io {
                    action: "open",
                    path: log.clone(),
                    source,
                })
            })?;
        let log_err = log_file.try_clone().map_err(|source| {
            StartFailure::Fatal(Error::Io {
                action: "open",
                path: log.clone(),
                source,
            })
        })?;
        let mut cmd = Command::new(self.binaries.program("postgres"));
        cmd.arg("-D")
            .arg(self.data_dir())
            .arg("-p")
            .arg(port.to_string());
        cmd.stdin(Stdio::null()).stdout(log_file).stderr(log_err);
        self.account.apply(&mut cmd);
        let (pid, exited_rx) =
            // SIGINT is PostgreSQL's fast shutdown.
            spawn_tied_to_process(cmd, format!("postgres-{port}"), libc::SIGINT).map_err(|source| {
                StartFailure::Fatal(Error::Io {
                    action: "run",
                    path: self.binaries.program("postgres"),
                    source,
                })
            })?;
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if exited_rx.try_recv().is_ok() {
                let tail = log_tail(&log, LOG_LINES);
                let error = Error::ServerStart {
                    data_dir: self.data_dir(),
                    log_tail: tail.clone(),
                };
                return Err(
                    if tail.contains("could not bind") || tail.contains("already in use") {
                        StartFailure::PortTaken(error)
                    } else {
                        StartFailure::Fatal(error)
                    },
                );
            }
            if postmaster_ready(&self.data_dir(), pid) {
                return Ok(RunningServer {
                    port,
                    pid,
                    exited: std::sync::Mutex::new(exited_rx),
                });
            }
            if Instant::now() > deadline {
                // SAFETY: plain signal to the child we started.
                unsafe { libc::kill(pid as libc::pid_t, libc::SIGQUIT) };
                return Err(StartFailure::Fatal(Error::ServerStart {
                    data_dir: self.data_dir(),
                    log_tail: format!(
                        "not ready after {READY_TIMEOUT:?}\n{}",
                        log_tail(&log, LOG_LINES)
                    ),
                }));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Starts the server detached from this process (`pg_ctl start`), on `port`.
    pub fn start_daemon(&self, port: u16) -> Result<(), Error> {
        use std::os::unix::process::CommandExt;
        let mut cmd = Command::new(self.binaries.program("pg_ctl"));
        cmd.arg("-D")
            .arg(self.data_dir())
            .arg("-l")
            .arg(self.log_path())
            .arg("-o")
            .arg(format!("-p {port}"))
            .args(["-w", "-t", "60", "start"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Its own process group: Ctrl-C in the terminal that ran the CLI must not stop it.
            .process_group(0);
        let status = self.run(cmd, "pg_ctl")?;
        if !status.success() {
            return Err(Error::ServerStart {
                data_dir: self.data_dir(),
                log_tail: log_tail(&self.log_path(), LOG_LINES),
            });
        }
        Ok(())
    }

    /// Stops a server started with [`Cluster::start_daemon`] (fast shutdown).
    pub fn stop_daemon(&self) -> Result<(), Error> {
        let mut cmd = Command::new(self.binaries.program("pg_ctl"));
        cmd.arg("-D")
            .arg(self.data_dir())
            .args(["-m", "fast", "-w", "-t", "60", "stop"]);
        cmd.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let status = self.run(cmd, "pg_ctl")?;
        if !status.success() && running_port(&self.data_dir()).is_some() {
            return Err(Error::ServerStop {
                data_dir: self.data_dir(),
                log_tail: log_tail(&self.log_path(), LOG_LINES),
            });
        }
        Ok(())
    }

    /// Runs one of the installation's programs as the server account and waits for it.
    fn run(&self, mut cmd: Command, program: &str) -> Result<std::process::ExitStatus, Error> {
        self.account.apply(&mut cmd);
        cmd.status().map_err(|source| Error::Io {
            action: "run",
            path: self.binaries.program(program),
            source,
        })
    }

    /// The port of the server running on this data folder, if one is.
    pub fn running_port(&self) -> Option<u16> {
        running_port(&self.data_dir())
    }
}

impl RunningServer {
    /// A password-free URL for `database` on this server.
    pub fn url(&self, database: &str) -> String {
        local_url(self.port, database)
    }

    /// Stops the server (fast shutdown) and waits for it to exit.
    pub fn stop(self) {
        // SAFETY: plain signal to the child we started.
        unsafe { libc::kill(self.pid as libc::pid_t, libc::SIGINT) };
        if let Ok(exited) = self.exited.lock() {
            let _ = exited.recv_timeout(READY_TIMEOUT);
        }
    }
}

/// The password-free URL of `database` on an embedded server listening on `port` (trust
/// authentication on 127.0.0.1, superuser `postgres`).
pub fn local_url(port: u16, database: &str) -> String {
    format!("postgres://postgres@127.0.0.1:{port}/{database}")
}

enum StartFailure {
    PortTaken(Error),
    Fatal(Error),
}

/// A port on 127.0.0.1 that nothing listens on right now.
pub(crate) fn free_port() -> Result<u16, Error> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|source| Error::Io {
        action: "bind a port on",
        path: PathBuf::from("127.0.0.1"),
        source,
    })?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|source| Error::Io {
            action: "bind a port on",
            path: PathBuf::from("127.0.0.1"),
            source,
        })
}

/// Starts `cmd` as a child that dies with this process, however it ends: the kernel sends it
/// `signal` when the thread that forked it exits, so the fork happens on a thread that lives
/// exactly as long as the child (it waits for it, then reports on the returned channel).
/// Returns the child's pid and a channel that receives once the child has exited.
pub(crate) fn spawn_tied_to_process(
    mut cmd: Command,
    thread_name: String,
    signal: libc::c_int,
) -> std::io::Result<(u32, mpsc::Receiver<()>)> {
    set_parent_death_signal(&mut cmd, signal);
    let (started_tx, started_rx) = mpsc::channel();
    let (exited_tx, exited_rx) = mpsc::channel();
    std::thread::Builder::new()
        .name(thread_name)
        .spawn(move || match cmd.spawn() {
            Ok(mut child) => {
                let _ = started_tx.send(Ok(child.id()));
                let _ = child.wait();
                let _ = exited_tx.send(());
            }
            Err(e) => {
                let _ = started_tx.send(Err(e));
            }
        })?;
    let pid = started_rx.recv().map_err(|_| {
        std::io::Error::other("the thread starting the child stopped unexpectedly")
    })??;
    Ok((pid, exited_rx))
}

fn set_parent_death_signal(cmd: &mut Command, signal: libc::c_int) {
    use std::os::unix::process::CommandExt;
    // SAFETY: prctl and getppid are async-signal-safe; the closure allocates nothing. It runs
    // after the uid switch, so the setting survives into the unprivileged server.
    unsafe {
        cmd.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, signal) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // The parent may have died before prctl took effect.
            if libc::getppid() == 1 {
                return Err(std::io::Error::other("parent exited"));
            }
            Ok(())
        });
    }
}

/// `postmaster.pid` lines: 1 pid, 4 port, 8 status (PostgreSQL 10 and later).
fn read_postmaster_pid(data: &Path) -> Option<(u32, u16, String)> {
    let text = std::fs::read_to_string(data.join("postmaster.pid")).ok()?;
    let lines: Vec<&str> = text.lines().collect();
    let pid = lines.first()?.trim().parse().ok()?;
    let port = lines.get(3)?.trim().parse().ok()?;
    let status = lines
        .get(7)
        .map(|s| s.trim().to_string())
        .unwrap_or_default();
    Some((pid, port, status))
}

/// Ready for connections: `ready`, or `standby` for a hot standby.
fn postmaster_ready(data: &Path, pid: u32) -> bool {
    matches!(read_postmaster_pid(data), Some((p, _, status)) if p == pid && (status == "ready" || status == "standby"))
}

/// Whether a process with this id exists (ours or another user's).
pub(crate) fn pid_alive(pid: u32) -> bool {
    // SAFETY: signal 0 only checks that the process exists.
    let exists = unsafe { libc::kill(pid as libc::pid_t, 0) == 0 };
    exists || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

fn running_port(data: &Path) -> Option<u16> {
    let (pid, port, _) = read_postmaster_pid(data)?;
    pid_alive(pid).then_some(port)
}
