//! A server that accepts TCP and never answers (a hung host, a half-open balancer): `init()`
//! fails after the connect timeout, naming the setting, instead of waiting for ever (or for the
//! pool's acquire timeout). The listener is a real socket on 127.0.0.1 that never speaks.

use std::time::Duration;

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

#[tokio::test]
async fn init_fails_after_the_connect_timeout_naming_the_setting() {
    let (port, server) = silent_server().await;
    for direct in [false, true] {
        let silent = format!("postgres://app:pw@127.0.0.1:{port}/app");
        let mut config = Config::default().database_url(silent.clone());
        if direct {
            // The pool would connect (to the same silent server); the point is the direct URL's
            // own bound, so the pooled URL is the silent one too and fails first either way.
            config = config.direct_url(silent);
        }
        config.pool.connect_timeout = Duration::from_millis(1_000);
        // Generous: the timeout plus 2 s. Without the bound this would wait for ever.
        let outcome = tokio::time::timeout(Duration::from_secs(3), app_db::init::open(&config))
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
