//! CLI behaviour that needs no database: help, refusals, generate, password hygiene.

mod common;

use common::{copy_tree, migration, migrations_dir, temp_dir};

const COMMANDS: [&str; 10] = [
    "up",
    "status",
    "verify",
    "down",
    "fresh",
    "generate",
    "upgrade-folder",
    "mark-applied",
    "baseline",
    "db",
];

#[test]
fn every_command_has_help() {
    let top = migration(&["--help"]);
    assert_eq!(top.code, 0, "{top:?}");
    for command in COMMANDS {
        assert!(
            top.stdout.contains(command),
            "top-level help lists {command}"
        );
        let run = migration(&[command, "--help"]);
        assert_eq!(run.code, 0, "{command} --help: {run:?}");
        assert!(
            run.stdout.contains(&format!("Usage: migration {command}")),
            "{command} --help: {}",
            run.stdout
        );
        // Global flags are documented on every command.
        assert!(run.stdout.contains("--database-url"), "{command}");
        assert!(run.stdout.contains("--migrations-schema"), "{command}");
    }
    let up = migration(&["up", "--help"]).stdout;
    for flag in [
        "--dry-run",
        "--num",
        "--allow-out-of-order",
        "--allow-modified",
        "--lock-timeout",
    ] {
        assert!(up.contains(flag), "up --help mentions {flag}");
    }
}

#[test]
fn bad_usage_exits_64_not_the_drift_code() {
    let run = migration(&["up", "--no-such-flag"]);
    assert_eq!(run.code, 64, "{run:?}");
    assert!(run.stderr.contains("--no-such-flag"));
}

#[test]
fn down_refuses_and_explains() {
    let run = migration(&["down"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("forward-only"), "{}", run.stderr);
    assert!(run.stderr.contains("fix: "), "{}", run.stderr);
    assert!(
        run.stderr.contains("generate <name> --custom"),
        "{}",
        run.stderr
    );
}

#[test]
fn fresh_refuses_without_yes_and_for_remote_hosts() {
    let run = migration(&[
        "-u",
        "postgres://app:Hunter2Secret@127.0.0.1:1/app",
        "fresh",
    ]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("--yes"), "{}", run.stderr);

    let remote = "postgres://app:Hunter2Secret@db.example.com:5432/app";
    let run = migration(&["-u", remote, "fresh", "--yes"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("--force-remote"), "{}", run.stderr);
    assert!(
        run.stderr.contains("app:***@db.example.com"),
        "{}",
        run.stderr
    );
    assert!(!run.all().contains("Hunter2Secret"), "{}", run.all());
}

#[test]
fn no_password_is_printed_when_the_server_is_unreachable() {
    let url = "postgres://app:Hunter2Secret@127.0.0.1:1/app?sslmode=disable";
    for args in [
        vec!["status"],
        vec!["status", "--json"],
        vec!["up"],
        vec!["up", "--dry-run"],
        vec!["verify"],
        vec!["mark-applied", "0000_auth"],
        vec!["baseline", "--to", "0000_auth"],
        vec!["fresh", "--yes"],
    ] {
        let mut all = vec!["-u", url];
        all.extend(args.iter());
        let run = migration(&all);
        assert_eq!(run.code, 1, "{args:?}: {run:?}");
        assert!(
            !run.all().contains("Hunter2Secret"),
            "{args:?} printed the password: {}",
            run.all()
        );
        assert!(
            run.stderr
                .contains("could not connect to postgres://app:***@127.0.0.1:1/app"),
            "{args:?}: {}",
            run.stderr
        );
        assert!(run.stderr.contains("fix: "), "{args:?}: {}", run.stderr);
    }
}

#[test]
fn unknown_tags_are_refused_with_the_known_ones() {
    let run = migration(&[
        "-u",
        "postgres://app@127.0.0.1:1/app",
        "mark-applied",
        "0042_nope",
    ]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains("no migration \"0042_nope\""),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("0000_auth"), "{}", run.stderr);
}

/// The journal text drizzle-kit would write after appending `entry_json` (already indented).
fn appended(original: &str, entry: &str) -> String {
    let body = original.trim_end();
    let cut = body
        .rfind("\n  ]\n}")
        .expect("journal ends with the entries array");
    format!("{},\n{entry}\n  ]\n}}", &body[..cut])
}

fn entry(idx: usize, when: i64, tag: &str) -> String {
    format!(
        "    {{\n      \"idx\": {idx},\n      \"version\": \"7\",\n      \"when\": {when},\n      \"tag\": \"{tag}\",\n      \"breakpoints\": true\n    }}"
    )
}

fn last_when(journal: &str) -> i64 {
    let value: serde_json::Value = serde_json::from_str(journal).expect("journal is JSON");
    value["entries"]
        .as_array()
        .and_then(|e| e.last())
        .and_then(|e| e["when"].as_i64())
        .expect("an entry with when")
}

#[test]
fn generate_custom_writes_drizzle_kits_file_and_journal_entry() {
    let dir = temp_dir("generate");
    copy_tree(&migrations_dir(), &dir);
    let journal_path = dir.join("meta/_journal.json");
    let before = std::fs::read_to_string(&journal_path).expect("journal");
    let previous_when = last_when(&before);

    let run = migration(&[
        "generate",
        "add_widgets",
        "--custom",
        "--dir",
        dir.to_str().expect("utf-8 path"),
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("write your SQL"), "{}", run.stdout);
    assert!(run.stdout.contains("then build"), "{}", run.stdout);

    let sql = std::fs::read(dir.join("0009_add_widgets.sql")).expect("the new file exists");
    assert_eq!(
        sql,
        b"-- Custom SQL migration file, put your code below! --"
    );

    let after = std::fs::read_to_string(&journal_path).expect("journal");
    let when = last_when(&after);
    assert!(
        when > previous_when,
        "when {when} must be newer than {previous_when}"
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as i64;
    assert!(
        (now - when).abs() < 120_000,
        "when {when} is about now ({now})"
    );
    assert_eq!(
        after,
        appended(&before, &entry(9, when, "0009_add_widgets"))
    );

    // The placeholder-only file is what the build rejects, so is a second generate.
    let run = migration(&[
        "generate",
        "more",
        "--custom",
        "--dir",
        dir.to_str().expect("utf-8 path"),
    ]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(!dir.join("0010_more.sql").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn generate_keeps_a_drizzle_kit_journal_byte_for_byte() {
    let fixture = migrations_dir().join("../../tests/fixtures/journal/drizzle-kit");
    let dir = temp_dir("generate-kit");
    copy_tree(&fixture, &dir);
    let before = std::fs::read_to_string(dir.join("meta/_journal.json")).expect("journal");
    let run = migration(&[
        "generate",
        "seed_roles",
        "--custom",
        "--dir",
        dir.to_str().expect("utf-8 path"),
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    let after = std::fs::read_to_string(dir.join("meta/_journal.json")).expect("journal");
    assert!(
        !after.ends_with('\n'),
        "drizzle-kit writes no trailing newline"
    );
    assert_eq!(
        after,
        appended(&before, &entry(3, last_when(&after), "0003_seed_roles"))
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn generate_refuses_a_bad_name_before_anything_else() {
    let dir = temp_dir("generate-plain");
    copy_tree(&migrations_dir(), &dir);
    let run = migration(&[
        "generate",
        "bad name",
        "--custom",
        "--dir",
        dir.to_str().expect("utf-8 path"),
    ]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains("not a usable migration name"),
        "{}",
        run.stderr
    );
    let run = migration(&[
        "generate",
        "bad name",
        "--dir",
        dir.to_str().expect("utf-8 path"),
    ]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains("not a usable migration name"),
        "{}",
        run.stderr
    );
    assert!(!dir.join("0009_bad name.sql").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn generate_custom_refuses_a_journal_whose_last_when_is_the_largest_timestamp() {
    let dir = temp_dir("generate-max-when");
    copy_tree(&migrations_dir(), &dir);
    let journal = dir.join("meta/_journal.json");
    let text = std::fs::read_to_string(&journal).expect("journal");
    let mut value: serde_json::Value = serde_json::from_str(&text).expect("json");
    let entries = value["entries"].as_array_mut().expect("entries");
    let last = entries.len() - 1;
    entries[last]["when"] = serde_json::json!(i64::MAX);
    std::fs::write(
        &journal,
        serde_json::to_string_pretty(&value).expect("json"),
    )
    .expect("write");
    let run = migration(&[
        "generate",
        "x",
        "--custom",
        "--dir",
        dir.to_str().expect("utf-8 path"),
    ]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("9223372036854775807"), "{}", run.stderr);
    assert!(run.stderr.contains("fix:"), "{}", run.stderr);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    assert!(!dir.join("0009_x.sql").exists());
    let _ = std::fs::remove_dir_all(&dir);
}
