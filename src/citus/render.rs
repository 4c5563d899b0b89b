//! The plan as text: a Markdown table (docs/scaling.md holds it, `tests/citus_plan.rs` keeps
//! it equal to the schema's), and a summary line. Pure.

use super::plan::{Placement, TablePlan};

/// `22 tables: 13 distributed, 1 reference, 8 local; 24 blockers in 13 tables`.
pub fn summary(plan: &[TablePlan]) -> String {
    let count = |f: fn(&Placement) -> bool| plan.iter().filter(|t| f(&t.placement)).count();
    let blockers: usize = plan.iter().map(|t| t.blockers.len()).sum();
    let blocked = plan.iter().filter(|t| !t.blockers.is_empty()).count();
    format!(
        "{} tables: {} distributed, {} reference, {} local; {blockers} blocker(s) in {blocked} table(s)",
        plan.len(),
        count(|p| matches!(p, Placement::Distributed { .. })),
        count(|p| *p == Placement::Reference),
        count(|p| *p == Placement::Local),
    )
}

/// One row per table: placement, why, and each blocker with its fix; distributed tables
/// first, then reference, then local, by name within each.
pub fn markdown(plan: &[TablePlan]) -> String {
    let mut rows: Vec<&TablePlan> = plan.iter().collect();
    rows.sort_by(|a, b| (rank(&a.placement), &a.table).cmp(&(rank(&b.placement), &b.table)));
    let mut out =
        String::from("| table | placement | why | what stands in the way |\n|---|---|---|---|\n");
    for t in rows {
        let blockers = if t.blockers.is_empty() {
            "nothing".to_string()
        } else {
            t.blockers
                .iter()
                .map(|b| escape(&b.to_string()))
                .collect::<Vec<_>>()
                .join("<br>")
        };
        out.push_str(&format!(
            "| `{}` | {} | {} | {} |\n",
            t.table,
            t.placement.label(),
            escape(&t.why),
            blockers
        ));
    }
    out.push_str(&format!("\n{}\n", summary(plan)));
    out
}

fn rank(placement: &Placement) -> u8 {
    match placement {
        Placement::Distributed { .. } => 0,
        Placement::Reference => 1,
        Placement::Local => 2,
    }
}

fn escape(text: &str) -> String {
    text.replace('|', "\\|")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::citus::plan::Blocker;

    #[test]
    fn rows_go_distributed_reference_local_and_blockers_get_a_line_each() {
        let plan = vec![
            TablePlan {
                table: "a_local".into(),
                placement: Placement::Local,
                why: "no org_id".into(),
                blockers: vec![],
            },
            TablePlan {
                table: "z_dist".into(),
                placement: Placement::Distributed {
                    column: "org_id".into(),
                },
                why: "has org_id".into(),
                blockers: vec![
                    Blocker::NullableColumn {
                        column: "org_id".into(),
                    },
                    Blocker::PrimaryKey {
                        columns: vec!["id".into()],
                        column: "org_id".into(),
                    },
                ],
            },
        ];
        let text = markdown(&plan);
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines[2].starts_with(
                "| `z_dist` | distributed by org_id | has org_id | org_id is nullable"
            )
        );
        assert!(lines[2].contains("<br>primary key (id) lacks org_id"));
        assert_eq!(lines[3], "| `a_local` | local | no org_id | nothing |");
        assert_eq!(
            summary(&plan),
            "2 tables: 1 distributed, 0 reference, 1 local; 2 blocker(s) in 1 table(s)"
        );
    }
}
