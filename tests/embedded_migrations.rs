//! The migrations compiled into app-db equal a run-time load of the folder they came from.

use app_db::journal;
use app_db::migrations::{MIGRATIONS, MIGRATIONS_DIR};

#[test]
fn embedded_migrations_equal_the_run_time_load() {
    let loaded = journal::load_dir(MIGRATIONS_DIR.as_ref()).expect("the embedded folder is valid");
    assert_eq!(MIGRATIONS.len(), loaded.migrations.len());
    for (embedded, file) in MIGRATIONS.iter().zip(&loaded.migrations) {
        assert_eq!(embedded.idx, file.idx);
        assert_eq!(embedded.tag, file.tag);
        assert_eq!(embedded.when, file.when);
        assert_eq!(embedded.breakpoints, file.breakpoints);
        assert_eq!(embedded.transaction, file.transaction);
        assert_eq!(embedded.sql, file.sql);
        assert_eq!(embedded.hash, file.hash);
    }
    for (position, migration) in MIGRATIONS.iter().enumerate() {
        assert_eq!(migration.idx as usize, position);
    }
}
