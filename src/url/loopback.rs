//! Whether a connection goes to this machine: the guard of destructive commands (`fresh`).
//!
//! It looks at the driver's own parse ([`sqlx::postgres::PgConnectOptions`]), never at the URL
//! text, so whatever decided the host — the URL's host, `?host=` (the last one wins),
//! `?hostaddr=`, or `PGHOST`/`PGHOSTADDR` when the URL names none — is what is checked.

use std::net::IpAddr;

use sqlx::postgres::PgConnectOptions;

/// Whether the driver will connect to this machine: a unix socket, `localhost` or a loopback
/// address. Anything else, including a host list or a name that merely resolves locally, is
/// remote (the guard refuses rather than guesses).
pub fn is_loopback(options: &PgConnectOptions) -> bool {
    options.get_socket().is_some() || is_loopback_host(options.get_host())
}

/// A host as the driver stores it, without the brackets an IPv6 literal keeps (`[::1]` → `::1`).
pub fn bare_host(host: &str) -> &str {
    host.strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host)
}

/// [`is_loopback`] for a host as the driver stores it (`[::1]` keeps its brackets).
pub fn is_loopback_host(host: &str) -> bool {
    let bare = bare_host(host);
    bare.starts_with('/')
        || bare.eq_ignore_ascii_case("localhost")
        || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::url::DbUrl;

    fn local(url: &str) -> bool {
        is_loopback(DbUrl::parse(url, "DATABASE_URL").unwrap().options())
    }

    #[test]
    fn loopback_hosts_are_local() {
        assert!(local("postgres://postgres@127.0.0.1:5432/app"));
        assert!(local("postgres://u:p@localhost/app"));
        assert!(local("postgres://u@[::1]:5432/app"));
        assert!(local(
            "postgres://u@db.internal/app?host=/var/run/postgresql"
        ));
        assert!(local("postgres://u@db.internal/app?hostaddr=127.0.0.1"));
    }

    #[test]
    fn the_host_the_driver_uses_decides() {
        assert!(!local("postgres://u:p@db.internal:5432/app"));
        assert!(!local("postgres://u@localhost/app?host=db.internal"));
        assert!(!local("postgres://u@localhost/app?hostaddr=10.1.2.3"));
        assert!(!local("postgres://u@127.0.0.1/app?hostaddr=192.0.2.7"));
        // A repeated key: the driver keeps the last one.
        assert!(!local(
            "postgres://u@localhost/app?host=127.0.0.1&host=db.internal"
        ));
        assert!(!local(
            "postgres://u@localhost/app?host=localhost,db.internal"
        ));
    }

    #[test]
    fn host_strings() {
        assert!(is_loopback_host("127.8.9.10"));
        assert!(is_loopback_host("LOCALHOST"));
        assert!(is_loopback_host("/tmp"));
        assert!(!is_loopback_host("127.0.0.1.example.com"));
        assert!(!is_loopback_host("::ffff:10.0.0.1"));
        assert!(!is_loopback_host(""));
    }
}
