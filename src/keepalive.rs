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
//! The driver (sqlx 0.9) opens its sockets itself and has no hook for socket options. After each
//! connect, [`arm`] finds the process's TCP sockets whose peer is the server (Linux:
//! `/proc/self/fd`, matched by peer address and port) and sets `SO_KEEPALIVE`, `TCP_KEEPIDLE`,
//! `TCP_KEEPINTVL`, `TCP_KEEPCNT` and `TCP_USER_TIMEOUT` on them. Another connection of the
//! process to the same server gets the same settings, which is what it should have anyway. On
//! other systems nothing is set (a debug log says so).
//!
//! The server side of the migrator's session gets the same bounds (`tcp_keepalives_*` and
//! `tcp_user_timeout`, transaction-local, in the lock statement), so a migrator that vanished
//! does not keep the migration lock until the server's two-hour default notices.

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

/// Sets `settings` on every TCP socket of this process connected to the server of `options`,
/// and returns how many it armed. Call it right after a connection to that server is made. A
/// Unix-domain socket has nothing to arm.
pub async fn arm(options: &sqlx::postgres::PgConnectOptions, settings: &Keepalive) -> usize {
    let (host, port) = (options.get_host(), options.get_port());
    if options.get_socket().is_some() || host.starts_with('/') || host.is_empty() {
        return 0;
    }
    let peers: Vec<std::net::SocketAddr> = match tokio::net::lookup_host((host, port)).await {
        Ok(addresses) => addresses.collect(),
        Err(e) => {
            tracing::debug!(error = %e, "keepalive: could not resolve the host again; not armed");
            return 0;
        }
    };
    sockets::arm_peers(&peers, settings)
}

#[cfg(target_os = "linux")]
mod sockets {
    use std::net::SocketAddr;
    use std::os::fd::{BorrowedFd, RawFd};

    use socket2::{SockRef, TcpKeepalive};

    use super::Keepalive;

    /// Arms the sockets of this process connected to one of `peers`.
    pub(super) fn arm_peers(peers: &[SocketAddr], settings: &Keepalive) -> usize {
        let Ok(entries) = std::fs::read_dir("/proc/self/fd") else {
            tracing::debug!("keepalive: /proc/self/fd is not readable; not armed");
            return 0;
        };
        let params = TcpKeepalive::new()
            .with_time(settings.idle)
            .with_interval(settings.interval)
            .with_retries(settings.count);
        let mut armed = 0;
        for entry in entries.flatten() {
            let Some(fd) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<RawFd>().ok())
            else {
                continue;
            };
            let is_socket = std::fs::read_link(entry.path())
                .is_ok_and(|target| target.to_string_lossy().starts_with("socket:"));
            if !is_socket {
                continue;
            }
            // SAFETY: the descriptor is only borrowed for these few calls. Another thread may
            // close it (or reuse its number) meanwhile: the calls then fail with EBADF or reach
            // a different socket, which is re-checked by its peer address first; no memory is
            // involved either way.
            let fd = unsafe { BorrowedFd::borrow_raw(fd) };
            let socket = SockRef::from(&fd);
            let Some(peer) = socket.peer_addr().ok().and_then(|a| a.as_socket()) else {
                continue;
            };
            if !peers.contains(&peer) {
                continue;
            }
            let done = socket
                .set_tcp_keepalive(&params)
                .and_then(|()| socket.set_tcp_user_timeout(Some(settings.user_timeout)));
            match done {
                Ok(()) => armed += 1,
                Err(e) => tracing::debug!(error = %e, %peer, "keepalive: could not set"),
            }
        }
        armed
    }
}

#[cfg(not(target_os = "linux"))]
mod sockets {
    use super::Keepalive;

    pub(super) fn arm_peers(_: &[std::net::SocketAddr], _: &Keepalive) -> usize {
        tracing::debug!("keepalive: only set on Linux; connections keep the system's defaults");
        0
    }
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
