//! A server that accepts TCP and never answers (a hung host, a half-open balancer): `init()`
//! fails after the connect timeout, naming the setting, instead of waiting for ever (or for the
//! pool's acquire timeout), whether it is `DATABASE_URL` or, behind a working pooled URL,
//! `DATABASE_DIRECT_URL`. The listener is a real socket on 127.0.0.1 that never speaks.

use std::time::Duration;

use app_db::testing::TestServer;
use app_db::{Config, Error};

/// A listener on 127.0.0.1 that accepts every connection and never sends a byte.
async fn silent_server() -> (u16, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a silent listener");
    let port = listener.local_addr().expect("its address").port();
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    (port, task)
}

/// `init()` with `config` must fail within the connect timeout (1 s) + 2 s, naming the setting
/// and the silent server's port, never the password.
async fn fails_on_the_silent_server(config: &Config, port: u16) {
    // Generous: the timeout plus 2 s. Without the bound this would wait for ever.
    let outcome = tokio::time::timeout(Duration::from_secs(3), app_db::init::open(config))
        .await
        .expect("init() must fail within the connect timeout + 2 s, not hang");
    match outcome {
        Err(e @ Error::ConnectTimeout { .. }) => {
            let text = e.to_string();
            assert!(text.contains("DATABASE_CONNECT_TIMEOUT"), "{text}");
            assert!(text.contains(&format!("127.0.0.1:{port}")), "{text}");
            assert!(!text.contains(":pw@"), "{text}");
        }
        other => panic!("expected a connect timeout, got {other:?}"),
    }
}

#[tokio::test]
async fn init_fails_after_the_connect_timeout_naming_the_setting() {
    let (port, server) = silent_server().await;
    let mut config =
        Config::default().database_url(format!("postgres://app:pw@127.0.0.1:{port}/app"));
    config.pool.connect_timeout = Duration::from_millis(1_000);
    fails_on_the_silent_server(&config, port).await;
    server.abort();
}

#[tokio::test]
async fn a_silent_direct_url_fails_after_the_connect_timeout_too() {
    // The pooled URL is a working database, so init() connects the pool and goes on to migrate
    // on DATABASE_DIRECT_URL, the silent one: that connect must be bounded too.
    let (port, server) = silent_server().await;
    let db = TestServer::get()
        .expect("a PostgreSQL server for the tests")
        .fresh_database()
        .await
        .expect("a database");
    let mut config = Config::default()
        .database_url(db.url.clone())
        .direct_url(format!("postgres://app:pw@127.0.0.1:{port}/app"));
    config.pool.connect_timeout = Duration::from_millis(1_000);
    fails_on_the_silent_server(&config, port).await;
    server.abort();
}

#[test]
fn the_connect_timeout_is_read_from_the_environment() {
    let config = Config::from_lookup(|name| {
        (name == "DATABASE_CONNECT_TIMEOUT").then(|| "2500".to_string())
    })
    .expect("a valid configuration");
    assert_eq!(config.pool.connect_timeout, Duration::from_millis(2_500));
    let e = Config::from_lookup(|name| {
        (name == "DATABASE_CONNECT_TIMEOUT").then(|| "soon".to_string())
    })
    .unwrap_err()
    .to_string();
    assert!(e.contains("DATABASE_CONNECT_TIMEOUT"), "{e}");
}
