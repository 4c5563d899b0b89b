//! The process's TCP sockets (Linux: `/proc/self/fd`), the sockets already given to a
//! connection, and setting the options on one.

use std::collections::HashSet;
use std::sync::{LazyLock, Mutex};

use super::pick::Seen;

/// Sockets armed (or deliberately left alone, for `keepalives=0`) for a connection: never
/// taken for another. Pruned to the sockets still open at every listing.
static CLAIMED: LazyLock<Mutex<HashSet<u64>>> = LazyLock::new(|| Mutex::new(HashSet::new()));

/// Runs `f` on the claims, pruned to `open` (every socket inode the process has now).
pub(super) fn with_claims<T>(open: &HashSet<u64>, f: impl FnOnce(&mut HashSet<u64>) -> T) -> T {
    // A panic elsewhere while holding the lock leaves a set that is still a valid set.
    let mut claimed = CLAIMED
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    claimed.retain(|inode| open.contains(inode));
    f(&mut claimed)
}

/// A listing of the process's sockets.
pub(super) struct Listing {
    /// Every socket inode (any family, connected or not).
    pub inodes: HashSet<u64>,
    /// The connected TCP sockets, with their descriptors.
    pub tcp: Vec<(i32, Seen)>,
}

#[cfg(target_os = "linux")]
mod os {
    use std::collections::HashSet;
    use std::os::fd::{BorrowedFd, RawFd};

    use socket2::{SockRef, TcpKeepalive, Type};

    use super::super::Keepalive;
    use super::super::pick::Seen;
    use super::Listing;

    /// The socket inode a `/proc/self/fd` link names (`socket:[12345]`).
    fn socket_inode(target: &str) -> Option<u64> {
        target
            .strip_prefix("socket:[")?
            .strip_suffix(']')?
            .parse()
            .ok()
    }

    pub(in super::super) fn list() -> std::io::Result<Listing> {
        let mut listing = Listing {
            inodes: HashSet::new(),
            tcp: Vec::new(),
        };
        for entry in std::fs::read_dir("/proc/self/fd")?.flatten() {
            let Some(fd) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<RawFd>().ok())
            else {
                continue;
            };
            let Some(inode) = std::fs::read_link(entry.path())
                .ok()
                .and_then(|t| socket_inode(&t.to_string_lossy()))
            else {
                continue;
            };
            listing.inodes.insert(inode);
            // SAFETY: the descriptor is only borrowed for these calls. Another thread may close
            // it (or reuse its number) meanwhile: the calls then fail with EBADF or describe
            // another socket, and `set` checks the inode again before changing anything; no
            // memory is involved either way.
            let fd_ref = unsafe { BorrowedFd::borrow_raw(fd) };
            let socket = SockRef::from(&fd_ref);
            if !socket.r#type().is_ok_and(|t| t == Type::STREAM) {
                continue;
            }
            let peer = socket.peer_addr().ok().and_then(|a| a.as_socket());
            let local = socket.local_addr().ok().and_then(|a| a.as_socket());
            if let (Some(peer), Some(local)) = (peer, local) {
                listing.tcp.push((fd, Seen { inode, local, peer }));
            }
        }
        Ok(listing)
    }

    /// Sets `settings` on descriptor `fd` if it still is socket `inode`.
    pub(in super::super) fn set(
        fd: RawFd,
        inode: u64,
        settings: &Keepalive,
    ) -> std::io::Result<()> {
        // SAFETY: fstat writes into the zeroed struct it is given and nothing else.
        let mut stat: libc::stat = unsafe { std::mem::zeroed() };
        // SAFETY: a closed descriptor only makes fstat fail with EBADF.
        if unsafe { libc::fstat(fd, &mut stat) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        if stat.st_ino != inode {
            return Err(std::io::Error::other(
                "the socket was closed while being armed",
            ));
        }
        // SAFETY: as in `list`.
        let fd_ref = unsafe { BorrowedFd::borrow_raw(fd) };
        let socket = SockRef::from(&fd_ref);
        let params = TcpKeepalive::new()
            .with_time(settings.idle)
            .with_interval(settings.interval)
            .with_retries(settings.count);
        socket.set_tcp_keepalive(&params)?;
        socket.set_tcp_user_timeout(Some(settings.user_timeout))
    }

    #[cfg(test)]
    mod tests {
        #[test]
        fn socket_links_name_their_inode() {
            assert_eq!(super::socket_inode("socket:[4242]"), Some(4242));
            assert_eq!(super::socket_inode("pipe:[4242]"), None);
            assert_eq!(super::socket_inode("/dev/null"), None);
        }
    }
}

#[cfg(target_os = "linux")]
pub(super) use os::{list, set};

/// Whether this system's sockets can be found and armed.
pub(super) const SUPPORTED: bool = cfg!(target_os = "linux");

#[cfg(not(target_os = "linux"))]
pub(super) fn list() -> std::io::Result<Listing> {
    Err(std::io::Error::other(
        "keepalives are only set on Linux; connections keep the system's defaults",
    ))
}

#[cfg(not(target_os = "linux"))]
pub(super) fn set(_: i32, _: u64, _: &super::Keepalive) -> std::io::Result<()> {
    Err(std::io::Error::other("keepalives are only set on Linux"))
}
