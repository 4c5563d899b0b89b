//! Nasty passwords, every connection-string form and every connection failure, shared by the
//! secrets tests of the library (`tests/secrets_init.rs`) and of the CLI
//! (`migration/tests/cli_secrets.rs`, which includes this file by path).

#![allow(dead_code)] // each includer uses a different subset

use std::time::Duration;

use app_db::testing::TestServer;
use sqlx::{Connection, PgConnection};

/// Passwords people generate: every URL delimiter raw, quotes, backslashes, spaces, `%`
/// sequences (valid and not), a fake parameter, non-ASCII. Each is distinctive enough that it
/// cannot occur in a message by accident.
pub const PASSWORDS: &[&str] = &[
    "p#ss-w0rd-1",
    "pa/ss-w0rd-2",
    "pa?ss-w0rd-3",
    "pa@ss:w0rd-4",
    "s p a c e d 5",
    "q'uo\"te\\6",
    "%41%zz%-7",
    "amp&host=evil.example&8",
    "密码-🔑-ünï-9",
    ":@/?#[]!$&'()*+,;=10",
];

/// How the password is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// `postgres://user:<raw>@host/db`
    UrlRaw,
    /// `postgres://user:<percent-encoded>@host/db`
    UrlEncoded,
    /// `postgres://user@host/db?password=<raw>`
    QueryRaw,
    /// `postgres://user@host/db?password=<percent-encoded>`
    QueryEncoded,
    /// `host=… port=… user=… password='<escaped>' dbname=…`
    KeyValue,
    /// `postgres://user@host/db?sslmode=prefer&sslpassword=<percent-encoded>`: libpq's
    /// passphrase of the client key, a secret the driver never reads.
    SslPassword,
}

pub const FORMS: [Form; 6] = [
    Form::UrlRaw,
    Form::UrlEncoded,
    Form::QueryRaw,
    Form::QueryEncoded,
    Form::KeyValue,
    Form::SslPassword,
];

/// Why the connection fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Nothing listens on the port.
    RefusedPort,
    /// The host name does not resolve.
    UnknownHost,
    /// The real server, a database that does not exist.
    BadDatabase,
    /// The real server, a role that authenticates by password, the wrong password.
    BadCredentials,
    /// Another scheme (`mysql://`).
    WrongScheme,
}

pub const FAILURES: [Failure; 5] = [
    Failure::RefusedPort,
    Failure::UnknownHost,
    Failure::BadDatabase,
    Failure::BadCredentials,
    Failure::WrongScheme,
];

/// The role of [`Failure::BadCredentials`] and its (right) password.
pub const PASSWORD_ROLE: &str = "app_db_secrets_role";
const RIGHT_PASSWORD: &str = "the-right-one-Zq9";

/// Where each failure points.
pub struct Endpoints {
    server_host: String,
    server_port: u16,
    closed_port: u16,
}

impl Endpoints {
    /// Prepares the test server: a role that must authenticate by password (on the embedded
    /// server, which trusts local connections, by putting a scram line for that role first in
    /// its pg_hba.conf), and a port where nothing listens.
    pub async fn prepare(server: &TestServer) -> Self {
        let admin = app_db::url::DbUrl::parse(server.admin_url(), "TEST_DATABASE_URL")
            .expect("the test server's URL parses");
        let mut conn = PgConnection::connect_with(admin.options())
            .await
            .expect("connect to the test server as its admin");
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "do $$ begin create role {PASSWORD_ROLE} login password '{RIGHT_PASSWORD}'; \
             exception when duplicate_object then alter role {PASSWORD_ROLE} password '{RIGHT_PASSWORD}'; end $$"
        )))
        .execute(&mut conn)
        .await
        .expect("create the password role");
        if server.pid().is_some() {
            let hba: String =
                sqlx::query_scalar("select setting from pg_settings where name = 'hba_file'")
                    .fetch_one(&mut conn)
                    .await
                    .expect("find pg_hba.conf");
            let lines = [
                format!("host all {PASSWORD_ROLE} 127.0.0.1/32 scram-sha-256"),
                "host all all 127.0.0.1/32 trust".to_string(),
                "host all all ::1/128 trust".to_string(),
            ];
            let array = lines
                .iter()
                .map(|l| format!("'{l}'"))
                .collect::<Vec<_>>()
                .join(", ");
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                "copy (select unnest(array[{array}])) to '{}'; select pg_reload_conf();",
                hba.replace('\'', "''")
            )))
            .execute(&mut conn)
            .await
            .expect("rewrite pg_hba.conf");
        }
        let _ = conn.close().await;
        let options = admin.options();
        let endpoints = Self {
            server_host: options.get_host().to_string(),
            server_port: options.get_port(),
            closed_port: closed_port(),
        };
        endpoints.wait_for_password_authentication().await;
        endpoints
    }

    /// The reload is asynchronous: wait until a wrong password is refused.
    async fn wait_for_password_authentication(&self) {
        let url = self.connection_string(
            Failure::BadCredentials,
            Form::UrlEncoded,
            "probe-wrong-password",
        );
        for _ in 0..200 {
            match PgConnection::connect(&url).await {
                Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("28P01") => return,
                Ok(conn) => {
                    let _ = conn.close().await;
                }
                Err(_) => {}
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "the test server still accepts a wrong password for {PASSWORD_ROLE}: it must check passwords for that role (TEST_DATABASE_URL servers need password authentication on 127.0.0.1)"
        );
    }

    /// The connection string for one failure, one form, one password.
    pub fn connection_string(&self, failure: Failure, form: Form, password: &str) -> String {
        let (host, port, user, database) = match failure {
            Failure::RefusedPort => ("127.0.0.1", self.closed_port, "app", "app"),
            Failure::UnknownHost => ("app-db-no-such-host.invalid", 5432, "app", "app"),
            Failure::BadDatabase => (
                self.server_host.as_str(),
                self.server_port,
                "postgres",
                "app_db_no_such_database",
            ),
            Failure::BadCredentials => (
                self.server_host.as_str(),
                self.server_port,
                PASSWORD_ROLE,
                "postgres",
            ),
            Failure::WrongScheme => ("127.0.0.1", self.server_port, "app", "app"),
        };
        let scheme = if failure == Failure::WrongScheme {
            "mysql"
        } else {
            "postgres"
        };
        let encoded = percent_encode(password);
        match form {
            Form::UrlRaw => format!("{scheme}://{user}:{password}@{host}:{port}/{database}"),
            Form::UrlEncoded => format!("{scheme}://{user}:{encoded}@{host}:{port}/{database}"),
            Form::QueryRaw => {
                format!("{scheme}://{user}@{host}:{port}/{database}?password={password}")
            }
            Form::QueryEncoded => {
                format!("{scheme}://{user}@{host}:{port}/{database}?password={encoded}")
            }
            Form::SslPassword => format!(
                "{scheme}://{user}@{host}:{port}/{database}?sslmode=prefer&sslpassword={encoded}"
            ),
            Form::KeyValue => format!(
                "host={host} port={port} user={user} password='{}' dbname={database}",
                password.replace('\\', "\\\\").replace('\'', "\\'")
            ),
        }
    }
}

/// Every byte outside `[A-Za-z0-9]` as `%XX`.
pub fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The forms of `password` found in `output` (raw, percent-encoded, key/value-escaped).
pub fn leaks(output: &str, password: &str) -> Vec<String> {
    let escaped = password.replace('\\', "\\\\").replace('\'', "\\'");
    [password.to_string(), percent_encode(password), escaped]
        .into_iter()
        .filter(|form| output.contains(form.as_str()))
        .collect()
}

/// A port on 127.0.0.1 where nothing listens (bound, then released).
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("its address").port()
}
