//! TCP keepalives on every connection app-db opens, so that a connection that goes silent (a
//! database host that vanished, a half-open load balancer, a cut network) ends in an error within
//! a bounded time instead of hanging a migration, and its replica's boot, for ever.
//!
//! # Settings
//!
//! The URL's libpq parameters, with libpq's names and units, so one `DATABASE_URL` means the same
//! to `psql` and to app-db:
//!
//! | parameter | meaning | default |
//! |---|---|---|
//! | `keepalives` | `0` turns keepalives (and `tcp_user_timeout`) off | `1` |
//! | `keepalives_idle` | seconds of silence before the first probe | 30 |
//! | `keepalives_interval` | seconds between unanswered probes | 10 |
//! | `keepalives_count` | unanswered probes before the connection is dropped | 3 |
//! | `tcp_user_timeout` | milliseconds sent data may stay unacknowledged | 60000 |
//!
//! With the defaults a silent peer is detected after at most 60 s
//! ([`Keepalive::silent_after`]). A long statement (an index build) is not silence: the server's
//! kernel answers the probes while the backend works.
//!
//! # How
//!
//! The driver (sqlx 0.9) opens its sockets itself and has no hook for socket options. So
//! [`arm`] finds the socket a connect just opened among the process's descriptors (Linux:
//! `/proc/self/fd`) and sets `SO_KEEPALIVE`, `TCP_KEEPIDLE`, `TCP_KEEPINTVL`, `TCP_KEEPCNT` and
//! `TCP_USER_TIMEOUT` on that one socket (`pick.rs` decides which, from its peer, the sockets
//! that existed before the connect, the sockets earlier arming claimed and, when that leaves
//! several, the client address the server reports). Every socket goes to one connection
//! only: a `keepalives=0` connection keeps its plain socket whatever connects after it, and two
//! connections with different settings keep theirs. When no socket can be told to be the
//! connection's, nothing is set and a warning says so. On other systems nothing is set (a
//! warning says so once).
//!
//! The server side of the migrator's session gets the same bounds (`tcp_keepalives_*` and
//! `tcp_user_timeout`, in the lock statement: transaction-local on the default path; on the
//! session path they are reset when the lock is released), so a migrator that vanished does
//! not keep the migration lock until the server's two-hour default notices.

mod pick;
mod sockets;

use std::collections::HashSet;
use std::net::{IpAddr, SocketAddr};

use sqlx::postgres::PgConnectOptions;
use sqlx::{PgConnection, Row};

use std::time::Duration;

/// The keepalive settings of a connection (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Keepalive {
    /// Silence before the first probe (`keepalives_idle`).
    pub idle: Duration,
    /// Time between unanswered probes (`keepalives_interval`).
    pub interval: Duration,
    /// Unanswered probes before the connection is dropped (`keepalives_count`).
    pub count: u32,
    /// How long sent data may stay unacknowledged (`tcp_user_timeout`).
    pub user_timeout: Duration,
}

impl Default for Keepalive {
    fn default() -> Self {
        Keepalive {
            idle: Duration::from_secs(30),
            interval: Duration::from_secs(10),
            count: 3,
            user_timeout: Duration::from_secs(60),
        }
    }
}

/// The URL query parameters this module reads (libpq's names).
pub const PARAMETERS: &[&str] = &[
    "keepalives",
    "keepalives_idle",
    "keepalives_interval",
    "keepalives_count",
    "tcp_user_timeout",
];

impl Keepalive {
    /// The settings named by `pairs` (decoded URL query pairs; other keys are ignored), on top of
    /// the defaults. `Ok(None)`: `keepalives=0`. The error names the parameter and the form it
    /// takes; it never quotes the value (a raw `&` in a password can make part of the password
    /// look like a parameter).
    pub fn from_query<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Option<Self>, String> {
        let mut settings = Keepalive::default();
        let mut on = true;
        for (key, value) in pairs {
            let number = |max: u64, unit: &str| -> Result<u64, String> {
                value
                    .trim()
                    .parse::<u64>()
                    .ok()
                    .filter(|n| (1..=max).contains(n))
                    .ok_or_else(|| {
                        format!("`{key}` must be a whole number of {unit} from 1 to {max}")
                    })
            };
            match key {
                "keepalives" => {
                    on = match value.trim() {
                        "1" => true,
                        "0" => false,
                        _ => return Err("`keepalives` must be 0 or 1".into()),
                    }
                }
                // Linux takes at most 32767 s for idle and interval, 127 probes.
                "keepalives_idle" => {
                    settings.idle = Duration::from_secs(number(32_767, "seconds")?)
                }
                "keepalives_interval" => {
                    settings.interval = Duration::from_secs(number(32_767, "seconds")?)
                }
                "keepalives_count" => settings.count = number(127, "probes")? as u32,
                "tcp_user_timeout" => {
                    settings.user_timeout =
                        Duration::from_millis(number(u32::MAX as u64, "milliseconds")?)
                }
                _ => {}
            }
        }
        Ok(on.then_some(settings))
    }

    /// The longest a silent connection lives: the first probe after `idle`, then `count`
    /// unanswered probes `interval` apart, or `user_timeout` for unacknowledged data.
    pub fn silent_after(&self) -> Duration {
        (self.idle + self.interval * self.count).max(self.user_timeout)
    }

    /// `set_config` calls that give the server's side of the session the same bounds, as
    /// select-list items (transaction-local when `is_local`). The values are numbers, so writing
    /// them into the text is safe.
    pub fn server_settings_sql(&self, is_local: bool) -> String {
        format!(
            "set_config('tcp_keepalives_idle', '{}', {is_local}), \
             set_config('tcp_keepalives_interval', '{}', {is_local}), \
             set_config('tcp_keepalives_count', '{}', {is_local}), \
             set_config('tcp_user_timeout', '{}', {is_local})",
            self.idle.as_secs(),
            self.interval.as_secs(),
            self.count,
            self.user_timeout.as_millis()
        )
    }
}

/// The sockets of the process before a connect: take it right before connecting and give it
/// to [`arm`], so that sockets that existed already are never taken for the new connection.
#[derive(Debug, Clone, Default)]
pub struct Before(Option<HashSet<u64>>);

impl Before {
    /// The process's sockets now.
    pub fn now() -> Self {
        Before(sockets::list().ok().map(|listing| listing.inodes))
    }
}

/// What [`arm`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Armed {
    /// The settings are on the connection's socket (its local address).
    Set(SocketAddr),
    /// `keepalives=0`: the connection's socket (its local address) keeps the system's
    /// defaults, and no later arming touches it.
    LeftOff(SocketAddr),
    /// A Unix-domain socket: nothing to arm.
    UnixSocket,
    /// Not Linux: the system's defaults stay.
    Unsupported,
    /// No socket could be told to be the connection's; why. Nothing was set.
    NotFound(String),
}

/// Gives the connection `conn`, just opened with `options`, its keepalive `settings` (`None`:
/// `keepalives=0`, the socket is only marked as this connection's). `before`: the sockets
/// before the connect ([`Before::now`]), when the caller could take them. Logs a warning when
/// nothing could be armed.
pub async fn arm(
    conn: &mut PgConnection,
    options: &PgConnectOptions,
    settings: Option<&Keepalive>,
    before: Option<&Before>,
) -> Armed {
    let armed = find_and_arm(conn, options, settings, before).await;
    let server = format!("{}:{}", options.get_host(), options.get_port());
    match &armed {
        Armed::NotFound(why) if settings.is_some() => tracing::warn!(
            "tcp keepalives not set on the connection to {server}: {why}; a connection that goes silent may hang instead of failing (docs/cli.md, Connection settings)"
        ),
        Armed::Unsupported if settings.is_some() => {
            static ONCE: std::sync::Once = std::sync::Once::new();
            ONCE.call_once(|| {
                tracing::warn!(
                    "tcp keepalives are only set on Linux: connections keep the system's defaults, and one that goes silent may hang instead of failing"
                )
            });
        }
        Armed::Set(local) => tracing::trace!(%local, %server, "tcp keepalives set"),
        _ => {}
    }
    armed
}

async fn find_and_arm(
    conn: &mut PgConnection,
    options: &PgConnectOptions,
    settings: Option<&Keepalive>,
    before: Option<&Before>,
) -> Armed {
    let host = options.get_host();
    if options.get_socket().is_some() || host.starts_with('/') || host.is_empty() {
        return Armed::UnixSocket;
    }
    if !sockets::SUPPORTED {
        return Armed::Unsupported;
    }
    let bare = crate::url::bare_host(host);
    let server = pick::Server {
        ip: bare.parse::<IpAddr>().ok(),
        port: options.get_port(),
    };
    let before = before.and_then(|b| b.0.as_ref());
    match arm_one(&server, before, None, settings) {
        Ok(armed) => armed,
        // keepalives=0 only marks the socket: not worth a round trip.
        Err(_) if settings.is_none() => Armed::NotFound("not told apart".into()),
        Err(_) => {
            // Several sockets could be the connection's: ask the server whose it is.
            let client = client_address(conn).await;
            match arm_one(&server, before, client, settings) {
                Ok(armed) => armed,
                Err(n) => Armed::NotFound(format!(
                    "{n} new sockets of this process go to that server and the client address the server reports is none of them (a proxy in between?)"
                )),
            }
        }
    }
}

/// One listing and choice; `Err(n)`: `n` sockets could be the connection's.
fn arm_one(
    server: &pick::Server,
    before: Option<&HashSet<u64>>,
    client: Option<SocketAddr>,
    settings: Option<&Keepalive>,
) -> Result<Armed, usize> {
    let listing = match sockets::list() {
        Ok(listing) => listing,
        Err(e) => {
            return Ok(Armed::NotFound(format!(
                "the process's sockets cannot be listed: {e}"
            )));
        }
    };
    let seen: Vec<pick::Seen> = listing.tcp.iter().map(|(_, s)| *s).collect();
    let chosen = sockets::with_claims(&listing.inodes, |claimed| {
        let chosen = pick::pick(&seen, server, before, claimed, client);
        if let pick::Pick::One(inode) = chosen {
            claimed.insert(inode);
        }
        chosen
    });
    match chosen {
        pick::Pick::One(inode) => {
            let Some((fd, seen)) = listing.tcp.iter().find(|(_, s)| s.inode == inode) else {
                return Ok(Armed::NotFound(
                    "the socket vanished while being armed".into(),
                ));
            };
            Ok(match settings {
                None => Armed::LeftOff(seen.local),
                Some(settings) => match sockets::set(*fd, inode, settings) {
                    Ok(()) => Armed::Set(seen.local),
                    Err(e) => Armed::NotFound(format!("setting the options failed: {e}")),
                },
            })
        }
        pick::Pick::None => Ok(Armed::NotFound(
            "no new TCP socket of this process goes to that server".into(),
        )),
        pick::Pick::Several(n) => Err(n),
    }
}

/// The client address and port the server sees for `conn` (`None` on a Unix socket or an
/// error). One round trip, only when several sockets could be the connection's.
async fn client_address(conn: &mut PgConnection) -> Option<SocketAddr> {
    let row =
        sqlx::raw_sql("select host(inet_client_addr()) as addr, inet_client_port()::text as port")
            .fetch_one(&mut *conn)
            .await
            .ok()?;
    let addr: Option<String> = row.try_get("addr").ok()?;
    let port: Option<String> = row.try_get("port").ok()?;
    Some(SocketAddr::new(addr?.parse().ok()?, port?.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_bound_silence_to_a_minute() {
        let k = Keepalive::from_query([]).unwrap().unwrap();
        assert_eq!(k, Keepalive::default());
        assert_eq!(k.silent_after(), Duration::from_secs(60));
    }

    #[test]
    fn libpq_parameters_are_read_in_libpq_units() {
        let k = Keepalive::from_query([
            ("keepalives_idle", "5"),
            ("keepalives_interval", "2"),
            ("keepalives_count", "4"),
            ("tcp_user_timeout", "9000"),
            ("sslmode", "disable"),
        ])
        .unwrap()
        .unwrap();
        assert_eq!(
            k,
            Keepalive {
                idle: Duration::from_secs(5),
                interval: Duration::from_secs(2),
                count: 4,
                user_timeout: Duration::from_millis(9000),
            }
        );
        assert_eq!(k.silent_after(), Duration::from_secs(13));
        assert!(
            k.server_settings_sql(true)
                .contains("set_config('tcp_user_timeout', '9000', true)")
        );
    }

    #[test]
    fn keepalives_zero_turns_them_off() {
        assert_eq!(Keepalive::from_query([("keepalives", "0")]), Ok(None));
        assert!(
            Keepalive::from_query([("keepalives", "1")])
                .unwrap()
                .is_some()
        );
    }

    #[test]
    fn bad_values_name_the_parameter_not_the_value() {
        for (key, value) in [
            ("keepalives", "yes"),
            ("keepalives_idle", "0"),
            ("keepalives_idle", "s3cret"),
            ("keepalives_interval", "-1"),
            ("keepalives_count", "128"),
            ("tcp_user_timeout", "99999999999"),
        ] {
            let e = Keepalive::from_query([(key, value)]).unwrap_err();
            assert!(e.contains(&format!("`{key}`")), "{e}");
            assert!(!e.contains(value), "{e} quotes the value");
        }
    }
}
