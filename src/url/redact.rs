//! Masking the password of a connection string, whatever its form, without needing it to parse.
//!
//! A string that does not parse is exactly the one most likely to be echoed in an error, so the
//! rules here never depend on the string being valid. They err on the side of hiding: when it
//! is unclear where a password ends, more is hidden, never less.
//!
//! Forms understood:
//! - URLs (`scheme://user:password@host/db`): everything between the first `:` of the user
//!   information and the *last* `@` is the password, so raw `/ ? # @ :` in it are covered
//!   (the driver would mis-split such a URL; the person who wrote it meant a password).
//! - secret query parameters (`password=`, libpq's `sslpassword=`, and any key whose name holds
//!   `password` or `secret`, see [`is_secret_key`]): the value runs to the end of the string (a
//!   raw `&` or `#` may be part of the secret, and no later parameter can be told apart from
//!   one). Keys are compared percent-decoded and case-insensitively.
//! - key/value strings (`host=db user=app password='it''s' dbname=app`), with libpq's quoting:
//!   single quotes, backslash escapes; anything malformed hides the rest of the string. Every
//!   secret key is masked, as in URLs.

use percent_encoding::{NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};

/// What replaces a secret in every message.
pub const MASK: &str = "***";

/// The query parameters the driver (sqlx 0.9) reads; everything else it ignores.
pub(crate) const DRIVER_KEYS: &[&str] = &[
    "sslmode",
    "ssl-mode",
    "sslrootcert",
    "ssl-root-cert",
    "ssl-ca",
    "sslcert",
    "ssl-cert",
    "sslkey",
    "ssl-key",
    "statement-cache-capacity",
    "host",
    "hostaddr",
    "port",
    "dbname",
    "user",
    "password",
    "application_name",
    "options",
];

/// Whether a (decoded) parameter name carries a secret: libpq's `password` and `sslpassword`
/// (the passphrase of the client key), and, so that a parameter a later libpq or driver adds is
/// covered before anyone lists it, every name containing `password` or `secret`.
pub(crate) fn is_secret_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    key.contains("password") || key.contains("secret")
}

/// Whether the driver reads the (decoded) query key.
pub(crate) fn is_driver_key(key: &str) -> bool {
    DRIVER_KEYS.contains(&key) || (key.starts_with("options[") && key.ends_with(']'))
}

/// The connection string with every password replaced by `***`, for logs, errors and output.
pub fn redact(text: &str) -> String {
    match split_scheme(text) {
        Some((scheme, rest)) => format!("{scheme}://{}", redact_after_scheme(rest)),
        None if is_key_value(text) => redact_key_value(text),
        None => redact_opaque(text),
    }
}

/// Every string that could be the password of `text` (raw and decoded), longest first.
pub fn secrets(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut push = |s: &str| {
        // As given, decoded as the driver decodes it, and encoded as the driver re-encodes it
        // when it builds a URL of its own.
        let encoded = utf8_percent_encode(s, NON_ALPHANUMERIC).to_string();
        for candidate in [s.to_string(), decode(s, false), decode(s, true), encoded] {
            if !candidate.is_empty() && !found.contains(&candidate) {
                found.push(candidate);
            }
        }
    };
    match split_scheme(text) {
        Some((_, rest)) => {
            for (start, end) in query_password_spans(rest) {
                push(&rest[start..end]);
            }
            if let Some((user_info, _)) = rest.rsplit_once('@')
                && let Some((_, password)) = user_info.split_once(':')
            {
                push(password);
            }
            if !rest.contains('@')
                && let Some(port) = bad_port(rest)
            {
                push(port);
            }
            // What the driver itself would take (it may split differently).
            if let Ok(parsed) = url::Url::parse(text) {
                if let Some(password) = parsed.password() {
                    push(password);
                }
                for (key, value) in parsed.query_pairs() {
                    if is_secret_key(&key) {
                        push(&value);
                    }
                }
            }
        }
        None if is_key_value(text) => {
            for (start, end) in key_value_password_spans(text) {
                let raw = &text[start..end];
                push(raw);
                push(&unescape_key_value(raw));
            }
        }
        None => {
            if let Some((_, after)) = text.split_once(':') {
                push(after);
            }
        }
    }
    found.sort_by_key(|s| std::cmp::Reverse(s.len()));
    found
}

/// `message` with every password of `url` (in any form) replaced by `***`.
pub fn scrub(url: &str, message: &str) -> String {
    secrets(url)
        .iter()
        .fold(message.to_string(), |text, secret| {
            text.replace(secret, MASK)
        })
}

/// `(scheme, rest)` when `text` starts with a syntactically valid `scheme://`.
pub(crate) fn split_scheme(text: &str) -> Option<(&str, &str)> {
    let (scheme, rest) = text.split_once("://")?;
    is_scheme(scheme).then_some((scheme, rest))
}

/// RFC 3986: a letter, then letters, digits, `+`, `-`, `.`.
pub(crate) fn is_scheme(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

/// Whether `text` starts like libpq's `keyword = value` connection string.
pub(crate) fn is_key_value(text: &str) -> bool {
    let trimmed = text.trim_start();
    let key_len = trimmed
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(trimmed.len());
    key_len > 0 && trimmed[key_len..].trim_start().starts_with('=')
}

fn redact_after_scheme(rest: &str) -> String {
    let mut masked = String::with_capacity(rest.len());
    let mut at = 0;
    for (start, end) in query_password_spans(rest) {
        masked.push_str(&rest[at..start]);
        masked.push_str(MASK);
        at = end;
    }
    masked.push_str(&rest[at..]);
    match masked.rsplit_once('@') {
        Some((user_info, host)) => match user_info.split_once(':') {
            Some((user, _)) => format!("{user}:{MASK}@{host}"),
            None => format!("{user_info}@{host}"),
        },
        // `user:password` with the `@host` forgotten reads as a non-numeric port.
        None if bad_port(&masked).is_some() => {
            let host_end = masked.find(':').unwrap_or(masked.len());
            format!("{}:{MASK}", &masked[..host_end])
        }
        None => masked,
    }
}

/// A non-numeric port of an authority without `@` (what a forgotten `@host` leaves).
fn bad_port(rest: &str) -> Option<&str> {
    let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    if authority.contains('@') || authority.starts_with('[') {
        return None;
    }
    let (_, port) = authority.split_once(':')?;
    (!port.is_empty() && !port.bytes().all(|b| b.is_ascii_digit())).then_some(port)
}

/// The byte span of the first secret parameter's value, to the end (which covers any later
/// one). Every `?` and `&` may start a parameter (a raw `?` in a user-info password still
/// leaves the real query after it).
fn query_password_spans(rest: &str) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let mut from = 0;
    while let Some(offset) = rest[from..].find(['?', '&']) {
        let param = from + offset + 1;
        from = param;
        let Some(eq) = rest[param..].find('=') else {
            break;
        };
        let key = &rest[param..param + eq];
        if key.contains(['&', '?']) || !is_secret_key(&decode(key, true)) {
            continue;
        }
        spans.push((param + eq + 1, rest.len()));
        break;
    }
    spans
}

/// Percent-decoded (and `+` as space for form-encoded query parts), lossy.
fn decode(s: &str, form: bool) -> String {
    if form {
        percent_decode_str(&s.replace('+', " "))
            .decode_utf8_lossy()
            .into_owned()
    } else {
        percent_decode_str(s).decode_utf8_lossy().into_owned()
    }
}

fn redact_key_value(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for (start, end) in key_value_password_spans(text) {
        out.push_str(&text[at..start]);
        out.push_str(MASK);
        at = end;
    }
    out.push_str(&text[at..]);
    out
}

/// Byte spans of secret values ([`is_secret_key`]) in a libpq key/value string. A malformed string (a key
/// without `=`, an unterminated quote) makes the rest of it one span: it cannot be told apart.
fn key_value_password_spans(text: &str) -> Vec<(usize, usize)> {
    let bytes = text.as_bytes();
    let skip_ws = |mut i: usize| {
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        i
    };
    let mut spans = Vec::new();
    let mut i = skip_ws(0);
    while i < bytes.len() {
        let key_start = i;
        while i < bytes.len() && bytes[i] != b'=' && !bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        let key = &text[key_start..i];
        i = skip_ws(i);
        if i >= bytes.len() || bytes[i] != b'=' {
            spans.push((key_start, text.len()));
            break;
        }
        i = skip_ws(i + 1);
        let value_start = i;
        let mut terminated = true;
        if i < bytes.len() && bytes[i] == b'\'' {
            i += 1;
            terminated = false;
            while i < bytes.len() {
                match bytes[i] {
                    b'\\' => i += 2,
                    b'\'' => {
                        i += 1;
                        terminated = true;
                        break;
                    }
                    _ => i += 1,
                }
            }
        } else {
            while i < bytes.len() && !bytes[i].is_ascii_whitespace() {
                i += if bytes[i] == b'\\' { 2 } else { 1 };
            }
        }
        let value_end = i.min(text.len());
        if !terminated {
            spans.push((value_start, text.len()));
            break;
        }
        if is_secret_key(key) {
            spans.push((value_start, value_end));
        }
        i = skip_ws(value_end);
    }
    spans
}

/// A key/value string's value as libpq reads it: quotes removed, backslash escapes resolved.
fn unescape_key_value(raw: &str) -> String {
    let inner = raw
        .strip_prefix('\'')
        .map(|r| r.strip_suffix('\'').unwrap_or(r))
        .unwrap_or(raw);
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.extend(chars.next()),
            c => out.push(c),
        }
    }
    out
}

/// Neither a URL nor key/value: whatever follows the first `:` may be a secret.
fn redact_opaque(text: &str) -> String {
    match text.split_once(':') {
        Some((before, _)) => format!("{before}:{MASK}"),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_passwords_are_masked_whatever_they_contain() {
        for (url, shown) in [
            (
                "postgres://app:s3cret@db:5432/app",
                "postgres://app:***@db:5432/app",
            ),
            (
                "postgres://app:p%40ss@db/app?sslmode=require",
                "postgres://app:***@db/app?sslmode=require",
            ),
            ("postgres://app:p#ss@db/app", "postgres://app:***@db/app"),
            ("postgres://app:pa/ss@db/app", "postgres://app:***@db/app"),
            ("postgres://app:pa?ss@db/app", "postgres://app:***@db/app"),
            ("postgres://app:pa@ss@db/app", "postgres://app:***@db/app"),
            ("postgres://app:a:b@db/app", "postgres://app:***@db/app"),
            ("postgres://a:b@c@host/db", "postgres://a:***@host/db"),
            ("postgres://app:secret", "postgres://app:***"),
            ("postgres://app:se/cret", "postgres://app:***"),
        ] {
            assert_eq!(redact(url), shown, "{url}");
        }
    }

    #[test]
    fn query_passwords_are_masked_to_the_end() {
        assert_eq!(
            redact("postgres://app@db/app?password=s3cret&x=1"),
            "postgres://app@db/app?password=***"
        );
        assert_eq!(
            redact("postgres://app@db/app?sslmode=require&password=&user=x"),
            "postgres://app@db/app?sslmode=require&password=***"
        );
        assert_eq!(
            redact("postgres://app@db/app?passw%6Frd=s3cret"),
            "postgres://app@db/app?passw%6Frd=***"
        );
        assert_eq!(
            redact("postgres:///app?host=db&password=p@ss#x"),
            "postgres:///app?host=db&password=***"
        );
    }

    #[test]
    fn every_secret_parameter_is_masked() {
        // libpq's passphrase of the client key, in a URL, percent-encoded, in another case,
        // and in a key/value string; and any parameter named like a secret.
        for (text, shown) in [
            (
                "postgres://app@db/app?sslmode=verify-full&sslpassword=k3y-pass",
                "postgres://app@db/app?sslmode=verify-full&sslpassword=***",
            ),
            (
                "postgres://app:pw@db/app?sslpassword=k3y-pass&sslmode=require",
                "postgres://app:***@db/app?sslpassword=***",
            ),
            (
                "postgres://app@db/app?ssl%70assword=k3y-pass",
                "postgres://app@db/app?ssl%70assword=***",
            ),
            (
                "postgres://app@db/app?SSLPassword=k3y-pass",
                "postgres://app@db/app?SSLPassword=***",
            ),
            (
                "postgres://app@db/app?client_secret=k3y-pass",
                "postgres://app@db/app?client_secret=***",
            ),
            (
                "host=db sslpassword='k3y pass' sslmode=require",
                "host=db sslpassword=*** sslmode=require",
            ),
        ] {
            assert_eq!(redact(text), shown, "{text}");
            let secret = if text.contains("k3y pass") {
                "k3y pass"
            } else {
                "k3y-pass"
            };
            assert_eq!(scrub(text, &format!("bad: {secret}")), "bad: ***", "{text}");
        }
        // Neither a path nor a mode is a secret.
        let paths = "postgres://app@db/app?sslkey=/k.pem&passfile=/p&sslmode=require";
        assert_eq!(redact(paths), paths);
    }

    #[test]
    fn key_value_passwords_are_masked() {
        assert_eq!(
            redact("host=db user=app password=s3cret dbname=app"),
            "host=db user=app password=*** dbname=app"
        );
        assert_eq!(
            redact("host=db password = 'it\\'s a secret' dbname=app"),
            "host=db password = *** dbname=app"
        );
        assert_eq!(
            redact("host=db password=a\\ b dbname=app"),
            "host=db password=*** dbname=app"
        );
        // Malformed: everything from the fault on is hidden.
        assert_eq!(redact("host=db password='open"), "host=db password=***");
        assert_eq!(redact("host=db oops password=x"), "host=db ***");
    }

    #[test]
    fn text_without_a_password_is_unchanged() {
        let url = "postgres://postgres@127.0.0.1:5432/app";
        assert_eq!(redact(url), url);
        assert_eq!(
            redact("postgres://db/app?sslmode=require"),
            "postgres://db/app?sslmode=require"
        );
        assert_eq!(redact("not a url"), "not a url");
        assert_eq!(redact("postgres:app:pw@host"), "postgres:***");
    }

    #[test]
    fn scrub_masks_every_form_of_the_password() {
        let url = "postgres://app:hun%23ter2@db/app";
        assert_eq!(
            scrub(url, "bad: hun#ter2 and hun%23ter2 rejected"),
            "bad: *** and *** rejected"
        );
        let kv = "host=db password='a b\\'c'";
        assert_eq!(scrub(kv, "x a b'c y"), "x *** y");
        assert_eq!(scrub("postgres://app@db/app", "no secret"), "no secret");
        // Only the password, not what a mis-split would read as a port.
        assert_eq!(scrub("postgres://app:pa?ss@db/app", "pa pa?ss"), "pa ***");
        assert_eq!(scrub("postgres://app@db/app?password=a+b", "a b"), "***");
    }
}
