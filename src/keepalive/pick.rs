//! Which of the process's TCP sockets is the one a connect just opened. Pure: the socket
//! listing, the claims and the server's view of the client are gathered by the caller.
//!
//! A candidate is a socket whose peer is the server (its port, and its address when the URL
//! names an address; a host name is not resolved again, since its answer may have changed
//! since the connect), that no earlier arming claimed, and that did not exist before the
//! connect began (when that listing is known). One candidate is the connection's socket.
//! Several (connects to the same server at the same moment, or sockets of other code of the
//! process) are told apart by the client address and port the server reports for the
//! connection, which are the socket's own on a direct connection; through a proxy they are
//! the proxy's, and then the sockets cannot be told apart.

use std::collections::HashSet;
use std::net::{IpAddr, SocketAddr};

/// One connected TCP socket of the process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seen {
    /// The socket's inode: unique while the socket lives, unlike its descriptor number.
    pub inode: u64,
    /// Its local address.
    pub local: SocketAddr,
    /// Its peer's address.
    pub peer: SocketAddr,
}

/// Where the connection went, as the connect options say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Server {
    /// The address, when the host is an IP address (`None` for a host name).
    pub ip: Option<IpAddr>,
    /// The port.
    pub port: u16,
}

/// The outcome of [`pick`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pick {
    /// This socket (by inode) is the connection's.
    One(u64),
    /// No socket qualifies.
    None,
    /// This many sockets qualify and nothing tells them apart.
    Several(usize),
}

fn same_address(a: IpAddr, b: IpAddr) -> bool {
    a.to_canonical() == b.to_canonical()
}

/// The socket of the connection just made to `server`, among `seen`. `before`: the sockets
/// that existed before the connect began, when known. `claimed`: sockets earlier arming gave
/// to their connections. `client`: the client address and port the server reports for the
/// connection, when asked.
pub fn pick(
    seen: &[Seen],
    server: &Server,
    before: Option<&HashSet<u64>>,
    claimed: &HashSet<u64>,
    client: Option<SocketAddr>,
) -> Pick {
    let candidates: Vec<&Seen> = seen
        .iter()
        .filter(|s| s.peer.port() == server.port)
        .filter(|s| server.ip.is_none_or(|ip| same_address(ip, s.peer.ip())))
        .filter(|s| !claimed.contains(&s.inode))
        .filter(|s| before.is_none_or(|b| !b.contains(&s.inode)))
        .collect();
    let narrowed: Vec<&Seen> = match client {
        Some(client) => candidates
            .iter()
            .copied()
            .filter(|s| s.local.port() == client.port() && same_address(s.local.ip(), client.ip()))
            .collect(),
        None => Vec::new(),
    };
    // The server's view decides only when it names one of the candidates (behind a proxy it
    // names the proxy's socket, which is none of ours).
    let chosen = if narrowed.is_empty() {
        candidates
    } else {
        narrowed
    };
    match chosen.as_slice() {
        [one] => Pick::One(one.inode),
        [] => Pick::None,
        several => Pick::Several(several.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(inode: u64, local: &str, peer: &str) -> Seen {
        Seen {
            inode,
            local: local.parse().unwrap(),
            peer: peer.parse().unwrap(),
        }
    }

    fn server(ip: Option<&str>, port: u16) -> Server {
        Server {
            ip: ip.map(|i| i.parse().unwrap()),
            port,
        }
    }

    fn set(inodes: &[u64]) -> HashSet<u64> {
        inodes.iter().copied().collect()
    }

    #[test]
    fn the_one_new_socket_to_the_server_is_the_connections() {
        let sockets = [
            seen(1, "127.0.0.1:40000", "127.0.0.1:5432"),
            seen(2, "127.0.0.1:40001", "127.0.0.1:5432"),
            seen(3, "127.0.0.1:40002", "127.0.0.1:6379"),
        ];
        let s = server(Some("127.0.0.1"), 5432);
        // 1 existed before the connect; 3 goes elsewhere.
        assert_eq!(
            pick(&sockets, &s, Some(&set(&[1, 3])), &set(&[]), None),
            Pick::One(2)
        );
        // Without the earlier listing both are candidates, unless one was claimed.
        assert_eq!(pick(&sockets, &s, None, &set(&[]), None), Pick::Several(2));
        assert_eq!(pick(&sockets, &s, None, &set(&[1]), None), Pick::One(2));
    }

    #[test]
    fn a_claimed_socket_is_never_taken_again() {
        // One connection's keepalives=0 socket is not re-armed by the next connect.
        let sockets = [seen(7, "127.0.0.1:40000", "127.0.0.1:5432")];
        let s = server(Some("127.0.0.1"), 5432);
        assert_eq!(pick(&sockets, &s, None, &set(&[7]), None), Pick::None);
    }

    #[test]
    fn an_ipv6_literal_and_an_ipv4_mapped_peer_match() {
        let s = server(Some("::1"), 5432);
        let sockets = [seen(1, "[::1]:40000", "[::1]:5432")];
        assert_eq!(pick(&sockets, &s, None, &set(&[]), None), Pick::One(1));
        let s = server(Some("127.0.0.1"), 5432);
        let mapped = [seen(
            2,
            "[::ffff:127.0.0.1]:40000",
            "[::ffff:127.0.0.1]:5432",
        )];
        assert_eq!(pick(&mapped, &s, None, &set(&[]), None), Pick::One(2));
        // Another address on the same port is another server.
        let other = [seen(3, "10.0.0.2:40000", "10.0.0.9:5432")];
        assert_eq!(pick(&other, &s, None, &set(&[]), None), Pick::None);
    }

    #[test]
    fn a_host_name_is_matched_by_port_without_resolving_it_again() {
        // The name may resolve elsewhere by now: the new socket to the port is taken.
        let s = server(None, 5432);
        let sockets = [
            seen(1, "10.0.0.2:40000", "10.0.0.7:5432"),
            seen(2, "10.0.0.2:40001", "10.0.0.8:6432"),
        ];
        assert_eq!(
            pick(&sockets, &s, Some(&set(&[])), &set(&[]), None),
            Pick::One(1)
        );
    }

    #[test]
    fn the_servers_view_of_the_client_tells_concurrent_connects_apart() {
        let s = server(Some("127.0.0.1"), 5432);
        let sockets = [
            seen(1, "127.0.0.1:40000", "127.0.0.1:5432"),
            seen(2, "127.0.0.1:40001", "127.0.0.1:5432"),
        ];
        let client = Some("127.0.0.1:40001".parse().unwrap());
        assert_eq!(pick(&sockets, &s, None, &set(&[]), client), Pick::One(2));
        // Behind a proxy the server names the proxy's socket: nothing decides.
        let proxy = Some("127.0.0.1:51000".parse().unwrap());
        assert_eq!(pick(&sockets, &s, None, &set(&[]), proxy), Pick::Several(2));
        // ... unless only one candidate is left.
        assert_eq!(pick(&sockets, &s, None, &set(&[1]), proxy), Pick::One(2));
    }
}
