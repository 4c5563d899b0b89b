//! Database URLs in messages: the password never leaves this module.

/// The URL with any password replaced by `***`, for logs, errors and CLI output.
///
/// Handles `postgres://user:secret@host/db`, a `password=` query parameter, and input that is
/// not a URL at all (returned with everything after a `:` in the user part masked).
pub fn redact(url: &str) -> String {
    let (scheme, rest) = match url.split_once("://") {
        Some((scheme, rest)) => (Some(scheme), rest),
        None => (None, url),
    };
    // The authority ends at the first '/', '?' or '#'; the user info at its last '@'.
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let authority = match authority.rsplit_once('@') {
        Some((user_info, host)) => match user_info.split_once(':') {
            Some((user, _password)) => format!("{user}:***@{host}"),
            None => format!("{user_info}@{host}"),
        },
        None => authority.to_string(),
    };
    let tail = redact_query_password(tail);
    match scheme {
        Some(scheme) => format!("{scheme}://{authority}{tail}"),
        None => format!("{authority}{tail}"),
    }
}

fn redact_query_password(tail: &str) -> String {
    let Some((path, query)) = tail.split_once('?') else {
        return tail.to_string();
    };
    let params: Vec<String> = query
        .split('&')
        .map(|param| match param.split_once('=') {
            Some((key, _)) if key.eq_ignore_ascii_case("password") => format!("{key}=***"),
            _ => param.to_string(),
        })
        .collect();
    format!("{path}?{}", params.join("&"))
}

/// `message` with the URL's password (if any) masked, for causes that might quote it.
pub fn scrub(url: &str, message: &str) -> String {
    match password(url) {
        Some(p) if !p.is_empty() => message.replace(&p, "***"),
        _ => message.to_string(),
    }
}

fn password(url: &str) -> Option<String> {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    let (user_info, _) = authority.rsplit_once('@')?;
    user_info.split_once(':').map(|(_, p)| p.to_string())
}

/// Whether the URL's host is this machine (used to guard destructive commands).
pub fn is_loopback(url: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if let Some(stripped) = host_port.strip_prefix('[') {
        stripped.split(']').next().unwrap_or("")
    } else {
        host_port.split(':').next().unwrap_or("")
    };
    // No host means a unix socket on this machine; `host=` in the query can point elsewhere.
    let query_host = rest.split_once('?').and_then(|(_, q)| {
        q.split('&')
            .find_map(|p| p.strip_prefix("host=").map(str::to_string))
    });
    let host = query_host.as_deref().unwrap_or(host);
    host.is_empty()
        || host == "localhost"
        || host == "::1"
        || host.starts_with("127.")
        || host.starts_with('/')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_is_masked() {
        assert_eq!(
            redact("postgres://app:s3cret@db:5432/app"),
            "postgres://app:***@db:5432/app"
        );
        assert_eq!(
            redact("postgres://app:p%40ss@db/app?sslmode=require"),
            "postgres://app:***@db/app?sslmode=require"
        );
        assert_eq!(
            redact("postgres://app@db/app?password=s3cret&x=1"),
            "postgres://app@db/app?password=***&x=1"
        );
        assert_eq!(
            redact("postgres://a:b@c@host/db"),
            "postgres://a:***@host/db"
        );
    }

    #[test]
    fn urls_without_password_are_unchanged() {
        let url = "postgres://postgres@127.0.0.1:5432/app";
        assert_eq!(redact(url), url);
        assert_eq!(redact("not a url"), "not a url");
    }

    #[test]
    fn scrub_masks_the_password_in_causes() {
        let url = "postgres://app:hunter2@db/app";
        assert_eq!(scrub(url, "bad: hunter2 rejected"), "bad: *** rejected");
        assert_eq!(scrub("postgres://app@db/app", "no secret"), "no secret");
    }

    #[test]
    fn loopback_detection() {
        assert!(is_loopback("postgres://postgres@127.0.0.1:5432/app"));
        assert!(is_loopback("postgres://u:p@localhost/app"));
        assert!(is_loopback("postgres://u@[::1]:5432/app"));
        assert!(is_loopback("postgres:///app"));
        assert!(!is_loopback("postgres://u:p@db.internal:5432/app"));
        assert!(!is_loopback("postgres://u@localhost/app?host=db.internal"));
    }
}
