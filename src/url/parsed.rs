//! [`DbUrl`]: a database URL parsed once, by the driver's rules, for connecting and checking.

use std::str::FromStr;

use sqlx::postgres::PgConnectOptions;

use super::redact::{is_driver_key, is_key_value, is_scheme, redact, secrets, split_scheme};
use crate::Error;
use crate::keepalive::{self, Keepalive};

/// What to write instead, for every malformed-URL error.
const URL_FIX: &str = "write postgres://user:password@host:port/database, percent-encoding any of : / ? # @ % & = + or a space in the user or password (e.g. # as %23)";

/// A database URL parsed by the driver (sqlx's [`PgConnectOptions`], which also applies the
/// `PG*` environment defaults and `~/.pgpass`). Connecting and every check (the `fresh`
/// loopback guard) use [`DbUrl::options`], so they cannot disagree about the host.
///
/// Its `Debug` and `Display` show the URL with the password masked; the raw text is kept only
/// to scrub the password out of messages that might quote it.
#[derive(Clone)]
pub struct DbUrl {
    options: PgConnectOptions,
    keepalive: Option<Keepalive>,
    redacted: String,
    secrets: Vec<String>,
}

impl DbUrl {
    /// Parses `raw`, the value of `setting` (named in errors, e.g. `DATABASE_URL`).
    ///
    /// Refused, with [`Error::BadUrl`]: another scheme than `postgres`/`postgresql`, a
    /// key/value string (the driver reads URLs only), anything the driver cannot parse. Query
    /// parameters the driver does not know are dropped with a warning that shows neither their
    /// names nor values (a raw `&` in a password would make part of it look like a name).
    pub fn parse(raw: &str, setting: &'static str) -> Result<Self, Error> {
        let redacted = redact(raw);
        let secrets = secrets(raw);
        let bad = |problem: String, fix: &str| Error::BadUrl {
            setting,
            url: redacted.clone(),
            problem,
            fix: fix.to_string(),
        };
        let scheme = match split_scheme(raw) {
            Some((scheme, _)) => scheme,
            None => {
                return Err(match raw.split_once(':') {
                    _ if is_key_value(raw) => bad(
                        "it is a key/value connection string, which the driver (sqlx) does not read"
                            .into(),
                        URL_FIX,
                    ),
                    Some((scheme, _)) if is_scheme(scheme) && !is_postgres(scheme) => {
                        wrong_scheme(setting, &redacted, scheme)
                    }
                    Some((scheme, _)) if is_scheme(scheme) => {
                        bad(format!("it has no `//` after `{scheme}:`"), URL_FIX)
                    }
                    // Unrecognisable text could be a bare password: not even a redacted echo.
                    _ => Error::BadUrl {
                        setting,
                        url: "value not shown".into(),
                        problem: "it is not a URL".into(),
                        fix: URL_FIX.into(),
                    },
                });
            }
        };
        if !is_postgres(scheme) {
            return Err(wrong_scheme(setting, &redacted, scheme));
        }
        let mut url = url::Url::parse(raw).map_err(|e| bad(e.to_string(), URL_FIX))?;
        let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        let keepalive = Keepalive::from_query(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .map_err(|problem| {
                bad(
                    problem,
                    "fix the parameter, or leave it out for the default (see docs/cli.md, Connection settings)",
                )
            })?;
        drop_unknown_parameters(&mut url, &pairs, setting);
        let options = PgConnectOptions::from_str(url.as_str()).map_err(|e| {
            let problem = secrets
                .iter()
                .fold(e.to_string(), |text, s| text.replace(s, super::MASK));
            bad(problem, URL_FIX)
        })?;
        let options = without_brackets(options);
        Ok(Self {
            options,
            keepalive,
            redacted,
            secrets,
        })
    }

    /// The driver's connection options (statement logging is the caller's choice).
    pub fn options(&self) -> &PgConnectOptions {
        &self.options
    }

    /// The TCP keepalive settings (the URL's libpq `keepalives*` and `tcp_user_timeout`
    /// parameters over the defaults); `None` for `keepalives=0`.
    pub fn keepalive(&self) -> Option<&Keepalive> {
        self.keepalive.as_ref()
    }

    /// The URL with its password masked.
    pub fn redacted(&self) -> &str {
        &self.redacted
    }

    /// `message` with this URL's password (any form of it) masked.
    pub fn scrub(&self, message: &str) -> String {
        self.secrets
            .iter()
            .fold(message.to_string(), |text, s| text.replace(s, super::MASK))
    }

    /// Whether the driver will connect to this machine (see [`super::is_loopback`]).
    pub fn is_loopback(&self) -> bool {
        super::is_loopback(&self.options)
    }
}

impl std::fmt::Debug for DbUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("DbUrl").field(&self.redacted).finish()
    }
}

impl std::fmt::Display for DbUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.redacted)
    }
}

/// An IPv6 literal keeps its URL brackets in the driver's host (`[::1]`), which its resolver
/// then cannot read: the connect fails. The bare address connects.
fn without_brackets(options: PgConnectOptions) -> PgConnectOptions {
    let bare = options
        .get_host()
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .filter(|h| h.parse::<std::net::Ipv6Addr>().is_ok())
        .map(str::to_string);
    match bare {
        Some(host) => options.host(&host),
        None => options,
    }
}

fn is_postgres(scheme: &str) -> bool {
    scheme.eq_ignore_ascii_case("postgres") || scheme.eq_ignore_ascii_case("postgresql")
}

fn wrong_scheme(setting: &'static str, redacted: &str, scheme: &str) -> Error {
    Error::BadUrl {
        setting,
        url: redacted.to_string(),
        problem: format!("its scheme is `{scheme}`, and app-db only speaks PostgreSQL"),
        fix: "give a postgres:// or postgresql:// URL".into(),
    }
}

/// The driver logs an unknown parameter with its value, which could be (part of) a password.
fn drop_unknown_parameters(url: &mut url::Url, pairs: &[(String, String)], setting: &str) {
    let known: Vec<&(String, String)> = pairs.iter().filter(|(k, _)| is_driver_key(k)).collect();
    // Read by app-db itself (`keepalive`), not passed to the driver.
    let ours = pairs
        .iter()
        .filter(|(k, _)| keepalive::PARAMETERS.contains(&k.as_str()))
        .count();
    let unknown = pairs.len() - known.len() - ours;
    if unknown > 0 {
        tracing::warn!(
            "ignoring {unknown} query parameter(s) of {setting} the driver does not read (not shown: one could hold part of a password); it reads {}, and app-db reads {}",
            super::redact::DRIVER_KEYS.join(", "),
            keepalive::PARAMETERS.join(", ")
        );
    }
    if known.len() == pairs.len() {
        return;
    }
    if known.is_empty() {
        url.set_query(None);
    } else {
        url.query_pairs_mut()
            .clear()
            .extend_pairs(known.iter().map(|(k, v)| (k, v)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(raw: &str) -> String {
        match DbUrl::parse(raw, "DATABASE_URL") {
            Err(e @ Error::BadUrl { .. }) => e.to_string(),
            other => panic!("{raw} should be refused, got {other:?}"),
        }
    }

    #[test]
    fn an_ipv6_literal_loses_its_brackets() {
        let url = DbUrl::parse("postgres://u@[::1]:6543/app", "X").unwrap();
        assert_eq!(url.options().get_host(), "::1");
        assert_eq!(url.options().get_port(), 6543);
        assert!(url.is_loopback());
        assert_eq!(url.redacted(), "postgres://u@[::1]:6543/app");
    }

    #[test]
    fn the_driver_reads_the_parts() {
        let url = DbUrl::parse("postgresql://app:p%23ss@db:6432/app?sslmode=disable", "X").unwrap();
        let o = url.options();
        assert_eq!((o.get_host(), o.get_port()), ("db", 6432));
        assert_eq!((o.get_username(), o.get_database()), ("app", Some("app")));
        assert_eq!(
            url.redacted(),
            "postgresql://app:***@db:6432/app?sslmode=disable"
        );
        assert_eq!(
            format!("{url:?}"),
            "DbUrl(\"postgresql://app:***@db:6432/app?sslmode=disable\")"
        );
        assert_eq!(url.scrub("p#ss p%23ss"), "*** ***");
    }

    #[test]
    fn other_schemes_are_refused_by_name() {
        let e = problem("mysql://app:secret@db/app");
        assert!(e.contains("`mysql`") && e.contains("DATABASE_URL"), "{e}");
        assert!(!e.contains("secret"), "{e}");
        let e = problem("redis:secret@db");
        assert!(e.contains("`redis`") && !e.contains("secret"), "{e}");
    }

    #[test]
    fn malformed_urls_are_refused_without_their_password() {
        for raw in [
            "postgres://app:s3#kr1t@db/app",
            "postgres://app:s3/kr1t@db/app",
            "postgres://app:s3?kr1t@db/app",
            "host=db user=app password=s3kr1t dbname=app",
            "postgres:app:s3kr1t@db",
            "s3kr1t",
        ] {
            let e = problem(raw);
            assert!(!e.contains("s3") && !e.contains("kr1t"), "{raw}: {e}");
            assert!(e.contains("fix:"), "{e}");
        }
        assert!(problem("host=db password=x").contains("key/value"));
    }

    #[test]
    fn unknown_parameters_do_not_reach_the_driver() {
        // A raw `&` in the password: the driver would log `ss`'s value; it is dropped instead.
        let url = DbUrl::parse("postgres://db/app?password=pa&ss=1&sslmode=disable", "X").unwrap();
        assert_eq!(url.redacted(), "postgres://db/app?password=***");
        assert!(matches!(
            url.options().get_ssl_mode(),
            sqlx::postgres::PgSslMode::Disable
        ));
    }
}
