//! Property test of the redaction (pure, no database): generated passwords over every
//! printable ASCII character plus some non-ASCII, in every connection-string form, never
//! survive `redact`, `scrub` or `DbUrl`'s messages, and nothing panics.
//!
//! 2,048 generated cases per run (`CASES`), each in fourteen forms (28,672 strings, about
//! fifteen seconds in a debug build): `password` in every place, libpq's `sslpassword`, and a
//! parameter named like a secret; a finding becomes a regression case in `src/url/redact.rs`
//! (the first one did: a raw password must also be scrubbed in its percent-encoded form).

#[path = "common/secrets.rs"]
mod secrets;

use app_db::url::{DbUrl, redact, scrub};
use proptest::prelude::*;
use secrets::percent_encode as encode;

const CASES: u32 = 2_048;

fn password() -> impl Strategy<Value = String> {
    let printable = proptest::char::range(' ', '~');
    let other = proptest::sample::select(vec!['é', 'ß', '密', '码', '🔑', '\u{a0}', 'ı']);
    proptest::collection::vec(prop_oneof![8 => printable, 1 => other], 4..24)
        .prop_map(|chars| chars.into_iter().collect())
}

/// The password in each form a person or a tool writes it.
fn forms(user: &str, host: &str, password: &str) -> Vec<String> {
    let encoded = encode(password);
    let quoted = password.replace('\\', "\\\\").replace('\'', "\\'");
    let unquoted: String = password
        .chars()
        .flat_map(|c| {
            let escape = c == '\\' || c == '\'' || c.is_whitespace();
            escape.then_some('\\').into_iter().chain([c])
        })
        .collect();
    vec![
        format!("postgres://{user}:{password}@{host}:5432/app"),
        format!("postgresql://{user}:{encoded}@{host}/app?sslmode=disable"),
        format!("postgres://{user}@{host}/app?sslmode=require&password={password}"),
        format!("postgres://{user}@{host}/app?password={encoded}&port=5433"),
        format!("postgres://{user}:{password}@{host}/app?password={password}"),
        format!("host={host} user={user} password='{quoted}' dbname=app"),
        format!("host={host} user={user} password={unquoted} dbname=app"),
        format!("mysql://{user}:{password}@{host}/app"),
        // libpq's passphrase of the client key, and any parameter named like a secret.
        format!("postgres://{user}@{host}/app?sslmode=verify-full&sslpassword={password}"),
        format!("postgres://{user}@{host}/app?sslpassword={encoded}&sslmode=require"),
        format!("postgres://{user}@{host}/app?SSLPassword={encoded}"),
        format!("postgres://{user}@{host}/app?client_secret={password}"),
        format!("host={host} user={user} sslpassword='{quoted}' sslmode=require"),
        format!("host={host} user={user} sslpassword={unquoted} dbname=app"),
    ]
}

fn shown(text: &str, password: &str) -> bool {
    text.contains(password) || text.contains(&encode(password))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: CASES, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn no_form_of_a_password_survives(
        password in password(),
        user in "[a-z][a-z0-9_]{0,8}",
        host in "[a-z][a-z0-9-]{0,10}(\\.[a-z]{2,5})?",
    ) {
        for text in forms(&user, &host, &password) {
            // A password the rest of the string happens to contain proves nothing.
            prop_assume!(!text.replacen(&password, "", 2).contains(&password));
            let redacted = redact(&text);
            prop_assert!(!shown(&redacted, &password), "redact({text:?}) = {redacted:?}");
            let message = format!("server said: {password} / {}", encode(&password));
            let scrubbed = scrub(&text, &message);
            prop_assert!(!shown(&scrubbed, &password), "scrub over {text:?} = {scrubbed:?}");
            let parsed = match DbUrl::parse(&text, "DATABASE_URL") {
                Ok(url) => format!("{url} {url:?} {}", url.scrub(&message)),
                Err(e) => format!("{e} {e:?}"),
            };
            prop_assert!(!shown(&parsed, &password), "DbUrl::parse({text:?}): {parsed}");
        }
    }
}
