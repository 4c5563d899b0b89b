//! Finding the newest snapshot of a folder and writing the next one of the chain.

use std::path::{Path, PathBuf};

use app_db::Error;
use serde_json::{Map, Value, json};

use super::shape::in_validator_order;
use crate::journal_json;

/// True when `dir/meta/` holds at least one drizzle-kit snapshot (`*_snapshot.json`).
pub fn has_snapshots(dir: &Path) -> bool {
    snapshot_files(dir).is_ok_and(|files| {
        files.iter().any(|f| {
            f.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.ends_with("_snapshot.json"))
        })
    })
}

/// What drizzle-kit reads as snapshots: every file of `meta/` whose name does not start
/// with `_`, in name order.
fn snapshot_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join("meta"))?
        .filter_map(Result::ok)
        .filter(|e| !e.file_name().to_string_lossy().starts_with('_'))
        .map(|e| e.path())
        .collect();
    files.sort();
    Ok(files)
}

/// The newest snapshot of `dir` (the one drizzle-kit diffs against and chains onto): its
/// path and content, checked to be a version 7 PostgreSQL snapshot with an `id`.
pub fn previous_snapshot(dir: &Path) -> Result<(PathBuf, Value), Error> {
    let meta = dir.join("meta");
    let files = snapshot_files(dir).map_err(|source| Error::Io {
        action: "read",
        path: meta.clone(),
        source,
    })?;
    let Some(path) = files.last().cloned() else {
        return Err(Error::Refused {
            reason: format!("{} holds no snapshot", meta.display()),
            fix: "run drizzle-kit generate in the TypeScript app once, or use a folder without snapshots".into(),
        });
    };
    let text = std::fs::read_to_string(&path).map_err(|source| Error::Io {
        action: "read",
        path: path.clone(),
        source,
    })?;
    let broken = |problem: String| {
        Error::Refused {
        reason: format!("{} is not a drizzle-kit snapshot: {problem}", path.display()),
        fix: "restore it from version control (drizzle-kit reads every file in meta/ not starting with _ as a snapshot)".into(),
    }
    };
    let value: Value = serde_json::from_str(&text).map_err(|e| broken(e.to_string()))?;
    if value.get("id").and_then(Value::as_str).is_none() {
        return Err(broken("no \"id\"".into()));
    }
    if value.get("dialect").and_then(Value::as_str) != Some("postgresql") {
        return Err(broken("its \"dialect\" is not \"postgresql\"".into()));
    }
    if value.get("version").and_then(Value::as_str) != Some("7") {
        return Err(Error::Refused {
            reason: format!(
                "{} is a snapshot of version {}, not 7",
                path.display(),
                value.get("version").unwrap_or(&Value::Null)
            ),
            fix: "upgrade the folder first with drizzle-kit 0.31's `drizzle-kit up`".into(),
        });
    }
    Ok((path, value))
}

/// The snapshot drizzle-kit 0.31 writes for `generate --custom`: the previous one, as its
/// validator re-emits it, under a new random `id` chained to the previous `id`, with an empty
/// `_meta` (no renames).
pub fn custom_snapshot(previous: &Value) -> Value {
    let prev_id = previous.get("id").cloned().unwrap_or(Value::Null);
    let mut ordered = in_validator_order(previous);
    if let Some(map) = ordered.as_object_mut() {
        map.insert("id".into(), json!(uuid::Uuid::new_v4().to_string()));
        map.insert("prevId".into(), prev_id);
        if map.contains_key("_meta") {
            map.insert("_meta".into(), empty_meta());
        }
    }
    ordered
}

/// The `_meta` drizzle-kit writes when nothing was renamed.
fn empty_meta() -> Value {
    let mut meta = Map::new();
    for key in ["columns", "schemas", "tables"] {
        meta.insert(key.into(), json!({}));
    }
    Value::Object(meta)
}

/// Writes `snapshot` as `dir/meta/<idx:04>_snapshot.json`, formatted as drizzle-kit writes it
/// (`JSON.stringify(snapshot, null, 2)`, no trailing newline), with `id` and `prevId` put first
/// as drizzle-kit does: `prevId` is `prev_id`, and a snapshot without an `id` (or with an
/// empty one, as `snapshot_from_database` returns) gets a new random one. Refuses to
/// overwrite a file. Returns the path written.
pub fn write_snapshot(
    dir: &Path,
    idx: usize,
    snapshot: Value,
    prev_id: &str,
) -> Result<PathBuf, Error> {
    let Value::Object(body) = snapshot else {
        return Err(Error::Refused {
            reason: "a snapshot must be a JSON object".into(),
            fix: "build it with snapshot_from_database or custom_snapshot".into(),
        });
    };
    let id = body
        .get("id")
        .and_then(Value::as_str)
        .filter(|id| !id.is_empty())
        .map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_string);
    let mut out = Map::new();
    out.insert("id".into(), json!(id));
    out.insert("prevId".into(), json!(prev_id));
    for (key, value) in body {
        if key != "id" && key != "prevId" {
            out.insert(key, value);
        }
    }
    let path = dir.join("meta").join(format!("{idx:04}_snapshot.json"));
    let text = journal_json::render(&Value::Object(out)).map_err(|e| Error::Refused {
        reason: format!("cannot format {}: {e}", path.display()),
        fix: "report this as a bug".into(),
    })?;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .map_err(|source| Error::Io {
            action: "create",
            path: path.clone(),
            source,
        })?;
    if let Err(source) = std::io::Write::write_all(&mut file, text.as_bytes()) {
        drop(file);
        let _ = std::fs::remove_file(&path);
        return Err(Error::Io {
            action: "write",
            path,
            source,
        });
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(label: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("app-db-snapshot-{label}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("meta")).expect("create a temp folder");
        dir
    }

    #[test]
    fn custom_chains_onto_the_previous_id_with_a_new_v4_id() {
        let previous = json!({"id": "11111111-1111-4111-8111-111111111111", "prevId": "0",
            "version": "7", "dialect": "postgresql", "tables": {}, "enums": {}, "schemas": {},
            "_meta": {"schemas": {}, "tables": {"\"public\".\"a\"": "\"public\".\"b\""}, "columns": {}}});
        let custom = custom_snapshot(&previous);
        assert_eq!(custom["prevId"], previous["id"]);
        let id = custom["id"].as_str().expect("id");
        assert_ne!(id, previous["id"]);
        assert_eq!(
            uuid::Uuid::parse_str(id).expect("uuid").get_version_num(),
            4
        );
        assert_eq!(
            custom["_meta"],
            json!({"columns": {}, "schemas": {}, "tables": {}})
        );
        let text = journal_json::render(&custom).expect("render");
        assert!(text.starts_with(&format!(
            "{{\n  \"id\": \"{id}\",\n  \"prevId\": \"11111111-"
        )));
    }

    #[test]
    fn snapshots_are_found_and_the_newest_is_the_previous_one() {
        let dir = temp("find");
        assert!(!has_snapshots(&dir));
        std::fs::write(dir.join("meta/_journal.json"), "{}").expect("write");
        assert!(!has_snapshots(&dir));
        for (n, id) in [("0000", "a"), ("0001", "b")] {
            let s = json!({"id": id, "prevId": "x", "version": "7", "dialect": "postgresql"});
            std::fs::write(dir.join(format!("meta/{n}_snapshot.json")), s.to_string())
                .expect("write");
        }
        assert!(has_snapshots(&dir));
        let (path, value) = previous_snapshot(&dir).expect("previous");
        assert!(path.ends_with("meta/0001_snapshot.json"));
        assert_eq!(value["id"], "b");

        std::fs::write(dir.join("meta/0002_snapshot.json"), "{").expect("write");
        let err = previous_snapshot(&dir).expect_err("broken").to_string();
        assert!(
            err.contains("0002_snapshot.json") && err.contains("fix:"),
            "{err}"
        );
        std::fs::write(
            dir.join("meta/0002_snapshot.json"),
            r#"{"id":"c","version":"6","dialect":"postgresql"}"#,
        )
        .expect("write");
        let err = previous_snapshot(&dir).expect_err("old").to_string();
        assert!(err.contains("drizzle-kit up"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn written_snapshots_put_the_chain_first_and_never_overwrite() {
        let dir = temp("write");
        let snapshot = json!({"version": "7", "dialect": "postgresql", "tables": {}, "id": "n"});
        let path = write_snapshot(&dir, 3, snapshot.clone(), "p").expect("write");
        assert!(path.ends_with("meta/0003_snapshot.json"));
        let text = std::fs::read_to_string(&path).expect("read");
        assert_eq!(
            text,
            "{\n  \"id\": \"n\",\n  \"prevId\": \"p\",\n  \"version\": \"7\",\n  \"dialect\": \"postgresql\",\n  \"tables\": {}\n}"
        );
        assert!(write_snapshot(&dir, 3, snapshot, "p").is_err());
        let fresh = json!({"id": "", "prevId": "", "version": "7"});
        let path = write_snapshot(&dir, 4, fresh, "n").expect("write");
        let written: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("JSON");
        assert_eq!(
            uuid::Uuid::parse_str(written["id"].as_str().expect("id"))
                .expect("uuid")
                .get_version_num(),
            4
        );
        assert_eq!(written["prevId"], "n");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
