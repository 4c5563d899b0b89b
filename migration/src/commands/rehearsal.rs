//! Printing a rehearsal (`up --rehearse`, `generate --rehearse`): its text or its JSON, and
//! the exit code it means.

use app_db::rehearse::Report;
use serde_json::Value;

use crate::exit;

/// The report as JSON: the library's shape plus the database it ran on (redacted).
pub fn json(report: &Report, database: &str) -> Value {
    let mut value = serde_json::to_value(report).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut value {
        map.insert("database".into(), Value::String(database.to_string()));
    }
    value
}

/// Prints `report` (JSON on stdout with `json`, else its text) and returns the exit code: 0
/// when every statement ran, 1 when one failed or could not be rehearsed.
pub fn print(report: &Report, database: &str, as_json: bool) -> u8 {
    if as_json {
        let text = serde_json::to_string_pretty(&json(report, database))
            .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
        println!("{text}");
    } else {
        println!("{report}");
    }
    verdict(report)
}

/// The exit code of a rehearsal, with its error line on stderr when it found a problem.
pub fn verdict(report: &Report) -> u8 {
    if report.passed() {
        return exit::OK;
    }
    eprintln!(
        "error: the rehearsal found {} statement(s) that fail on this database's rows and {} that could not be rehearsed\n  fix: change the migration (e.g. backfill before SET NOT NULL, a DEFAULT for a new NOT NULL column, dedupe before a unique constraint) and rehearse again; nothing was changed",
        report.failed, report.not_rehearsed
    );
    exit::ERROR
}
