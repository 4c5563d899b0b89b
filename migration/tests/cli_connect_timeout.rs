//! A server that accepts TCP and never answers: every command that connects fails within its
//! connect timeout (+ 2 s of slack), exit 1, naming the setting. The silent server is a real
//! listener on 127.0.0.1 that accepts and never sends a byte.

use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Accepts every connection on 127.0.0.1 and holds it open without a word, in a thread.
fn silent_server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a silent listener");
    let port = listener.local_addr().expect("its address").port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for socket in listener.incoming().flatten() {
            held.push(socket);
        }
    });
    port
}

/// Runs the binary; fails the test if it is still running `limit` after the start.
fn run_bounded(args: &[&str], env: &[(&str, &str)], limit: Duration) -> (i32, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_migration"))
        .args(args)
        .env_remove("DATABASE_URL")
        .env_remove("DATABASE_CONNECT_TIMEOUT")
        .env("APP_DB_LOG", "warn")
        .env("NO_COLOR", "1")
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the migration binary starts");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the binary") {
            break status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{args:?} still hung after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().expect("stderr"), &mut stderr)
        .expect("read stderr");
    (status.code().unwrap_or(-1), stderr)
}

#[test]
fn up_and_status_fail_within_the_connect_timeout_naming_it() {
    let port = silent_server();
    let url = format!("postgres://app:pw@127.0.0.1:{port}/app");
    let limit = Duration::from_millis(1_000 + 2_000);
    let (code, stderr) = run_bounded(&["-u", &url, "--connect-timeout", "1000", "up"], &[], limit);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("--connect-timeout"), "{stderr}");
    assert!(stderr.contains("did not answer"), "{stderr}");
    let (code, stderr) = run_bounded(
        &["-u", &url, "status"],
        &[("DATABASE_CONNECT_TIMEOUT", "1000")],
        limit,
    );
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("DATABASE_CONNECT_TIMEOUT"), "{stderr}");
    let (code, stderr) = run_bounded(
        &["-u", &url, "--connect-timeout", "1000", "seed"],
        &[],
        limit,
    );
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("DATABASE_CONNECT_TIMEOUT"), "{stderr}");
}

#[test]
fn a_zero_or_unreadable_timeout_is_bad_usage() {
    let (code, stderr) = run_bounded(
        &[
            "-u",
            "postgres://127.0.0.1:1/app",
            "--connect-timeout",
            "0",
            "status",
        ],
        &[],
        Duration::from_secs(10),
    );
    assert_eq!(code, 64, "{stderr}");
    assert!(stderr.contains("--connect-timeout"), "{stderr}");
}
