//! The CLI never prints a password: every nasty password, in every connection-string form,
//! through every way of failing to connect, at `-vv`, against the real test server. Also: a
//! foreign scheme is bad usage (exit 64), and `fresh` refuses a remote `PGHOST` before
//! connecting.

mod common;
#[path = "../../tests/common/secrets.rs"]
mod secrets;

use std::process::Command;

use app_db::testing::TestServer;
use secrets::{Endpoints, FAILURES, FORMS, Failure, Form, PASSWORDS, leaks};

/// What one run printed and how it ended.
struct Run {
    code: i32,
    all: String,
}

/// The binary with `args`, at `-vv`, with no database or PG* settings of the caller.
fn run(args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_migration"));
    cmd.arg("-vv").args(args).env("NO_COLOR", "1");
    for var in [
        "DATABASE_URL",
        "DATABASE_CONNECT_TIMEOUT",
        "APP_DB_LOG",
        "PGHOST",
        "PGHOSTADDR",
        "PGPORT",
        "PGUSER",
        "PGPASSWORD",
        "PGDATABASE",
    ] {
        cmd.env_remove(var);
    }
    cmd.envs(env.iter().copied());
    let out = cmd.output().expect("the migration binary runs");
    Run {
        code: out.status.code().unwrap_or(-1),
        all: format!(
            "{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_password_in_any_output_for_any_form_and_failure() {
    let server = TestServer::get().unwrap_or_else(|e| panic!("a test server is needed: {e}"));
    let endpoints = Endpoints::prepare(server).await;
    let mut runs = 0;
    for &password in PASSWORDS {
        for form in FORMS {
            for failure in FAILURES {
                let url = endpoints.connection_string(failure, form, password);
                let run = tokio::task::spawn_blocking(move || run(&["-u", &url, "status"], &[]))
                    .await
                    .expect("the run finished");
                let leaked = leaks(&run.all, password);
                assert!(
                    leaked.is_empty(),
                    "{failure:?}, {form:?}: the password showed as {leaked:?} in:\n{}",
                    run.all
                );
                assert_ne!(run.code, 0, "{failure:?}, {form:?} succeeded:\n{}", run.all);
                let parses = matches!(form, Form::UrlEncoded | Form::QueryEncoded);
                match failure {
                    Failure::WrongScheme => assert_eq!(run.code, 64, "{}", run.all),
                    _ if parses => assert_eq!(run.code, 1, "{failure:?}: {}", run.all),
                    _ => {}
                }
                if form == Form::UrlEncoded {
                    let expected = match failure {
                        Failure::RefusedPort => "refused",
                        Failure::UnknownHost => "app-db-no-such-host.invalid",
                        Failure::BadDatabase => "3D000",
                        Failure::BadCredentials if password.contains('🔑') => "SASLprep",
                        Failure::BadCredentials => "28P01",
                        Failure::WrongScheme => "`mysql`",
                    };
                    assert!(run.all.contains(expected), "{failure:?}: {}", run.all);
                    assert!(!run.all.contains(" at line "), "{failure:?}: {}", run.all);
                }
                runs += 1;
            }
        }
    }
    assert_eq!(runs, PASSWORDS.len() * FORMS.len() * FAILURES.len());
}

#[test]
fn a_foreign_scheme_is_bad_usage_naming_it() {
    let out = run(&["-u", "mysql://app:s3kr1t@127.0.0.1:1/app", "up"], &[]);
    assert_eq!(out.code, 64, "{}", out.all);
    assert!(out.all.contains("`mysql`"), "{}", out.all);
    assert!(!out.all.contains("s3kr1t"), "{}", out.all);
}

#[test]
fn fresh_refuses_a_remote_pghost_when_the_url_names_no_host() {
    // Refused before any connection: nothing ever reaches 192.0.2.1 (TEST-NET-1).
    let by_host = run(
        &["-u", "postgres:///app", "fresh", "--yes"],
        &[("PGHOST", "192.0.2.1")],
    );
    assert_eq!(by_host.code, 1, "{}", by_host.all);
    assert!(
        by_host.all.contains("another machine") && by_host.all.contains("192.0.2.1"),
        "{}",
        by_host.all
    );
    let by_addr = run(
        &["-u", "postgres:///app", "fresh", "--yes"],
        &[("PGHOSTADDR", "192.0.2.1")],
    );
    assert!(by_addr.all.contains("another machine"), "{}", by_addr.all);
}

#[test]
fn generate_rehearse_never_shows_the_rehearsal_urls_password() {
    let server = TestServer::get().unwrap_or_else(|e| panic!("a test server is needed: {e}"));
    // A folder one migration behind the entities, so that generate has something to rehearse;
    // the rehearsal database refuses the connection (nothing listens on port 1).
    let folder = common::folder_without_last("secrets-rehearse");
    for password in ["hunter2-rehearse", "p%23ss%2Fw%40rd"] {
        let rehearse = format!("postgres://app:{password}@127.0.0.1:1/staging");
        let run = run(
            &[
                "-u",
                server.admin_url(),
                "generate",
                "metrics",
                "--dry-run",
                "--dir",
                folder.to_str().unwrap(),
                "--rehearse",
                &rehearse,
            ],
            &[],
        );
        assert_eq!(run.code, 1, "{}", run.all);
        assert!(
            run.all.contains("app:***@127.0.0.1:1/staging"),
            "{}",
            run.all
        );
        for shown in [password, "p#ss/w@rd", "hunter2"] {
            assert!(!run.all.contains(shown), "{shown} in:\n{}", run.all);
        }
    }
    let _ = std::fs::remove_dir_all(&folder);
}

#[tokio::test]
async fn fresh_and_mark_applied_never_show_an_sslpassword() {
    let db = app_db::testing::TestDatabase::empty()
        .await
        .unwrap_or_else(|e| panic!("a test database is needed: {e}"));
    // libpq's passphrase of the client key; the driver never needs it here (no client key),
    // so every command succeeds and prints the URL it used.
    let passphrase = "Key-Pass_phrase-77";
    let url = format!(
        "{}{}sslpassword={passphrase}",
        db.url,
        if db.url.contains('?') { '&' } else { '?' }
    );
    for args in [
        vec!["-u", url.as_str(), "up", "-n", "1"],
        vec![
            "-u",
            url.as_str(),
            "mark-applied",
            "0001_organizations",
            "--dry-run",
        ],
        vec!["-u", url.as_str(), "fresh", "--yes"],
        vec!["-u", url.as_str(), "status"],
    ] {
        let out = tokio::task::spawn_blocking({
            let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
            move || run(&args.iter().map(String::as_str).collect::<Vec<_>>(), &[])
        })
        .await
        .expect("the run finished");
        assert!(
            leaks(&out.all, passphrase).is_empty(),
            "{args:?} showed the passphrase:\n{}",
            out.all
        );
        assert!(
            out.all.contains("sslpassword=***") || args[2] == "status" || args[2] == "up",
            "{args:?}: the URL it used is shown, masked:\n{}",
            out.all
        );
    }
}
