//! README's benchmark table is copied from docs/bench-results.md by `benches/run-all.sh`, never
//! typed: a hand edit of either makes this test fail.

use std::path::Path;

const BEGIN: &str = "<!-- bench-results:begin -->";
const END: &str = "<!-- bench-results:end -->";

fn block(relative: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("read {}: {e}; run benches/run-all.sh", path.display()));
    let (_, rest) = text
        .split_once(BEGIN)
        .unwrap_or_else(|| panic!("{relative} has no {BEGIN} marker; run benches/run-all.sh"));
    let (table, _) = rest
        .split_once(END)
        .unwrap_or_else(|| panic!("{relative} has no {END} marker; run benches/run-all.sh"));
    table.trim().to_string()
}

#[test]
fn readme_table_equals_the_generated_results() {
    let readme = block("README.md");
    let results = block("docs/bench-results.md");
    assert!(
        results.lines().count() > 2,
        "docs/bench-results.md's table is empty; run benches/run-all.sh"
    );
    assert_eq!(
        readme, results,
        "README.md's benchmark table differs from docs/bench-results.md: it is copied from \
         there, never typed; run benches/run-all.sh (or copy the block back)"
    );
}
