//! Whether the server a connection reached runs on this machine: the second half of the guard
//! of destructive commands (`fresh`), after the URL's host ([`crate::url::is_loopback`]).
//!
//! A loopback URL proves little: an SSH tunnel (`ssh -L 5433:localhost:5432 prod`), `kubectl
//! port-forward` or a cloud SQL proxy listen on 127.0.0.1 and carry the connection to another
//! machine. So the server is asked where it is: the address and port it accepted this session
//! on (`inet_server_addr()`, `inet_server_port()`; NULL over a Unix socket, with
//! `current_setting('port')` then) and the pid of the backend serving it (`pg_backend_pid()`).
//! The server is this machine's only when all three agree with what this process sees:
//!
//! - the server's address is loopback or a Unix socket (a proxy's far end connects over the
//!   network, so the server sees a routable address; a local Docker container sees its bridge
//!   address, and counts as another machine);
//! - it accepted the session on the port the URL names (a tunnel or a pooler listens on a
//!   port of its own and connects to the server's);
//! - the backend pid is a PostgreSQL process of this machine (a tunnel that keeps the port,
//!   `-L 5432:localhost:5432`, ends at a server whose backend is not a local process).
//!
//! On systems without `/proc` the last check cannot be made and the server counts as remote.

use std::net::IpAddr;

use sqlx::{PgConnection, Row};

use crate::Error;
use crate::url::DbUrl;

/// Where the server says it served this session from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerEndpoint {
    /// The address the server accepted the session on; `None` over a Unix socket.
    pub addr: Option<IpAddr>,
    /// The port it accepted the session on (its `port` setting over a Unix socket).
    pub port: u16,
    /// The backend process serving the session.
    pub backend_pid: i32,
}

/// What this process sees of the same session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalView {
    /// The port the URL (as the driver parsed it) connects to.
    pub url_port: u16,
    /// Whether a PostgreSQL process with the backend's pid runs on this machine; `None` when
    /// this system cannot tell (no `/proc`).
    pub backend_is_local_postgres: Option<bool>,
}

/// Why a server is not this machine's, or `None` when it is (pure).
pub fn remote_reason(server: &ServerEndpoint, local: &LocalView) -> Option<String> {
    if let Some(addr) = server.addr
        && !addr.is_loopback()
    {
        return Some(format!(
            "the server accepted this session on {addr}, not on a loopback address: the URL's local host is a tunnel, proxy or container in front of it"
        ));
    }
    if server.port != local.url_port {
        return Some(format!(
            "the server accepted this session on port {}, while the URL connects to port {}: something listening on {} (a tunnel, port-forward or pooler) carries it on",
            server.port, local.url_port, local.url_port
        ));
    }
    match local.backend_is_local_postgres {
        Some(true) => None,
        Some(false) => Some(format!(
            "the backend serving this session (pid {}) is not a PostgreSQL process of this machine: the connection is carried to another one",
            server.backend_pid
        )),
        None => Some(
            "this system has no /proc, so the backend serving this session cannot be found among this machine's processes".into(),
        ),
    }
}

/// Asks the server where it served this session from.
pub async fn server_endpoint(conn: &mut PgConnection) -> Result<ServerEndpoint, Error> {
    // Simple protocol: one round trip, and safe behind a transaction pooler.
    let row = sqlx::raw_sql(
        "select host(inet_server_addr()) as addr, \
         coalesce(inet_server_port(), current_setting('port')::int)::text as port, \
         pg_backend_pid()::text as pid",
    )
    .fetch_one(&mut *conn)
    .await?;
    let addr: Option<String> = row.try_get("addr")?;
    let port: String = row.try_get("port")?;
    let pid: String = row.try_get("pid")?;
    let protocol = |what: &str, value: &str| {
        Error::Sqlx(sqlx::Error::Protocol(format!(
            "the server's {what} {value:?} could not be read"
        )))
    };
    Ok(ServerEndpoint {
        addr: addr
            .map(|a| a.parse().map_err(|_| protocol("address", &a)))
            .transpose()?,
        port: port.parse().map_err(|_| protocol("port", &port))?,
        backend_pid: pid.parse().map_err(|_| protocol("backend pid", &pid))?,
    })
}

/// Whether `pid` is a PostgreSQL process of this machine (its command is `postgres`, which
/// every backend of a cluster started from the `postgres` binary shows). `None` without `/proc`.
pub fn is_local_postgres(pid: i32) -> Option<bool> {
    if !std::path::Path::new("/proc/self").exists() {
        return None;
    }
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
    Some(comm.trim_end() == "postgres")
}

/// Refuses unless the server of `conn` runs on this machine ([`remote_reason`]); for commands
/// that destroy data. `url` is the URL `conn` was opened from (its password is never shown).
pub async fn ensure_this_machine(
    conn: &mut PgConnection,
    url: &DbUrl,
    command: &str,
) -> Result<(), Error> {
    let server = server_endpoint(conn).await?;
    let local = LocalView {
        url_port: url.options().get_port(),
        backend_is_local_postgres: is_local_postgres(server.backend_pid),
    };
    match remote_reason(&server, &local) {
        None => Ok(()),
        Some(reason) => Err(Error::Refused {
            reason: format!(
                "{command} refuses a database that is not on this machine: {} — {reason}; nothing was changed",
                url.redacted()
            ),
            fix: format!(
                "check that this is the database you mean to wipe, then add --force-remote to {command}"
            ),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(addr: Option<&str>, port: u16) -> ServerEndpoint {
        ServerEndpoint {
            addr: addr.map(|a| a.parse().unwrap()),
            port,
            backend_pid: 4242,
        }
    }

    fn local(url_port: u16, backend: Option<bool>) -> LocalView {
        LocalView {
            url_port,
            backend_is_local_postgres: backend,
        }
    }

    #[test]
    fn a_local_server_on_loopback_or_a_socket_is_this_machine() {
        for addr in [Some("127.0.0.1"), Some("::1"), Some("127.0.0.2"), None] {
            assert_eq!(
                remote_reason(&server(addr, 5432), &local(5432, Some(true))),
                None,
                "{addr:?}"
            );
        }
    }

    #[test]
    fn a_proxy_to_a_routable_address_is_remote() {
        // A cloud SQL proxy, a Docker container, a port-forward into a cluster.
        for addr in ["10.0.0.5", "172.17.0.2", "fd00::2"] {
            let why = remote_reason(&server(Some(addr), 5432), &local(5432, Some(true)));
            assert!(why.as_deref().is_some_and(|w| w.contains(addr)), "{why:?}");
        }
    }

    #[test]
    fn a_tunnel_on_another_port_is_remote() {
        // ssh -L 5433:localhost:5432: the far server sees its own loopback.
        let why = remote_reason(&server(Some("127.0.0.1"), 5432), &local(5433, Some(true)));
        assert!(
            why.as_deref()
                .is_some_and(|w| w.contains("port 5432") && w.contains("port 5433")),
            "{why:?}"
        );
    }

    #[test]
    fn a_tunnel_keeping_the_port_is_caught_by_the_backend() {
        // ssh -L 5432:localhost:5432: address and port agree, the backend is elsewhere.
        let why = remote_reason(&server(Some("127.0.0.1"), 5432), &local(5432, Some(false)));
        assert!(
            why.as_deref().is_some_and(|w| w.contains("4242")),
            "{why:?}"
        );
        // A system that cannot tell refuses rather than guesses.
        assert!(remote_reason(&server(Some("127.0.0.1"), 5432), &local(5432, None)).is_some());
    }

    #[test]
    fn this_process_is_not_a_postgres_backend() {
        assert_eq!(is_local_postgres(std::process::id() as i32), Some(false));
        assert_eq!(is_local_postgres(i32::MAX), Some(false));
    }
}
