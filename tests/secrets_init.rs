//! `init()` never shows a password: every nasty password, in every connection-string form,
//! through every way of failing to connect, against the real test server. Checked: the
//! error's `Display` and `Debug`, the configuration's `Debug`, and every log line at trace.

#[path = "common/secrets.rs"]
mod secrets;

use std::io::Write;
use std::sync::{Arc, Mutex};

use app_db::testing::TestServer;
use app_db::{Config, Error};
use secrets::{Endpoints, FAILURES, FORMS, Failure, Form, PASSWORDS, leaks};

/// Every log line of the process, at every level.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn take(&self) -> String {
        String::from_utf8_lossy(&std::mem::take(&mut *self.0.lock().unwrap())).into_owned()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_password_in_errors_debug_or_logs_for_any_form_and_failure() {
    let logs = Captured::default();
    let writer = logs.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .init();
    let server = TestServer::get().unwrap_or_else(|e| panic!("a test server is needed: {e}"));
    let endpoints = Endpoints::prepare(server).await;
    logs.take();

    let mut cases = 0;
    let mut server_errors = Vec::new();
    for &password in PASSWORDS {
        for form in FORMS {
            for failure in FAILURES {
                let url = endpoints.connection_string(failure, form, password);
                let mut config = Config::default().database_url(url);
                config.pool.connect_timeout = std::time::Duration::from_secs(5);
                let shown_config = format!("{config:?}");
                let error = match app_db::init::open(&config).await {
                    Err(e) => e,
                    Ok(_) => panic!("{failure:?} {form:?} connected"),
                };
                let everything = format!("{error}\n{error:?}\n{shown_config}\n{}", logs.take());
                let leaked = leaks(&everything, password);
                assert!(
                    leaked.is_empty(),
                    "{failure:?}, {form:?}: the password showed as {leaked:?} in:\n{everything}"
                );
                if matches!(form, Form::UrlEncoded) {
                    server_errors.push((failure, error.to_string()));
                }
                cases += 1;
            }
        }
    }
    assert_eq!(cases, PASSWORDS.len() * FORMS.len() * FAILURES.len());
    // The paths were the ones claimed: the server itself refused the database and the password.
    for (failure, expected) in [
        (Failure::BadDatabase, "3D000"),
        (Failure::BadCredentials, "28P01"),
        (Failure::WrongScheme, "`mysql`"),
    ] {
        for (_, text) in server_errors.iter().filter(|(f, _)| *f == failure) {
            // A password SASLprep prohibits never reaches the server.
            assert!(
                text.contains(expected) || text.contains("SASLprep"),
                "{failure:?}: {text}"
            );
            assert!(!text.contains(" at line "), "{failure:?}: {text}");
        }
    }
    let refused = server_errors
        .iter()
        .find(|(f, _)| *f == Failure::RefusedPort)
        .map(|(_, t)| t.as_str())
        .unwrap_or_default();
    assert!(refused.contains("refused"), "{refused}");

    // The same passwords and failures in a read replica's URL (`DATABASE_READ_URL`), next to
    // a working primary: the boot, a read that finds the replica failing (its check and the
    // router's log lines), the router's state, and the boot's wait that gives up on it.
    let primary = app_db::testing::TestDatabase::migrated()
        .await
        .expect("a migrated test database");
    logs.take();
    let mut replica_cases = 0;
    for &password in PASSWORDS {
        for form in FORMS {
            for failure in FAILURES {
                let replica = endpoints.connection_string(failure, form, password);
                let mut config = Config::default()
                    .database_url(primary.url.clone())
                    .read_urls([replica]);
                config.pool.connect_timeout = std::time::Duration::from_secs(5);
                config.replicas.wait_at_boot = false;
                let mut everything = format!("{config:?}\n");
                match app_db::init::open(&config).await {
                    Ok((_, boot)) => {
                        let set = boot.replicas.expect("a replica set");
                        let read = set.read().await.expect("the primary serves the read");
                        everything.push_str(&format!("{read:?}\n{set:?}\n{:?}\n", set.view()));
                    }
                    Err(e) => everything.push_str(&format!("{e}\n{e:?}\n")),
                }
                if form == Form::UrlEncoded {
                    config.replicas.wait_at_boot = true;
                    config.replicas.wait_timeout = std::time::Duration::from_millis(200);
                    match app_db::init::open(&config).await {
                        Ok(_) => panic!("{failure:?}: the failing replica cannot have replayed"),
                        Err(e) => everything.push_str(&format!("{e}\n{e:?}\n")),
                    }
                }
                everything.push_str(&logs.take());
                let leaked = leaks(&everything, password);
                assert!(
                    leaked.is_empty(),
                    "replica {failure:?}, {form:?}: the password showed as {leaked:?} in:\n{everything}"
                );
                replica_cases += 1;
            }
        }
    }
    assert_eq!(
        replica_cases,
        PASSWORDS.len() * FORMS.len() * FAILURES.len()
    );
}

#[tokio::test]
async fn a_key_value_string_is_refused_naming_the_variable() {
    let config = Config::default().database_url("host=db user=app password=s3kr1t dbname=app");
    match app_db::init::open(&config).await {
        Err(e @ Error::BadUrl { .. }) => {
            let text = e.to_string();
            assert!(
                text.contains("DATABASE_URL") && text.contains("key/value"),
                "{text}"
            );
            assert!(!text.contains("s3kr1t"), "{text}");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
}
