//! The difference between the schema the migrations produce and the one a database has.

use std::collections::BTreeSet;

use super::catalog::{SchemaObject, SchemaSnapshot};

/// One object that differs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Difference {
    /// Produced by the migrations, absent from the database.
    Missing(SchemaObject),
    /// In the database, not produced by the migrations.
    Unexpected(SchemaObject),
    /// In both, with different definitions.
    Changed {
        /// As the migrations produce it.
        expected: SchemaObject,
        /// As the database has it.
        found: SchemaObject,
    },
}

/// Every difference between an expected and a found snapshot, ordered by object key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SchemaDiff {
    /// The differences.
    pub differences: Vec<Difference>,
}

/// Kinds whose absence explains the absence of everything that belongs to them.
const CONTAINERS: [&str; 4] = ["table", "view", "materialized view", "foreign table"];

impl SchemaDiff {
    /// Compares `expected` (the replayed migrations) with `found` (the live database).
    pub fn between(expected: &SchemaSnapshot, found: &SchemaSnapshot) -> Self {
        let mut differences = Vec::new();
        for e in expected.objects() {
            match found.get(&e.key()) {
                None => differences.push(Difference::Missing(e.clone())),
                Some(f) if f.detail != e.detail => differences.push(Difference::Changed {
                    expected: e.clone(),
                    found: f.clone(),
                }),
                Some(_) => {}
            }
        }
        for f in found.objects() {
            if expected.get(&f.key()).is_none() {
                differences.push(Difference::Unexpected(f.clone()));
            }
        }
        differences.sort_by_key(|d| match d {
            Difference::Missing(o) | Difference::Unexpected(o) => o.key(),
            Difference::Changed { expected, .. } => expected.key(),
        });
        Self { differences }
    }

    /// Whether the schemas are equal.
    pub fn is_empty(&self) -> bool {
        self.differences.is_empty()
    }

    /// How many objects differ.
    pub fn len(&self) -> usize {
        self.differences.len()
    }

    /// One line per difference, at most `limit` lines. A missing (or unexpected) table is one
    /// line that counts its columns, constraints and indexes instead of listing them.
    pub fn render(&self, limit: usize) -> String {
        let whole = |pick: fn(&Difference) -> Option<&SchemaObject>| -> BTreeSet<String> {
            self.differences
                .iter()
                .filter_map(pick)
                .filter(|o| CONTAINERS.contains(&o.kind.as_str()))
                .map(|o| o.name.clone())
                .collect()
        };
        let missing_whole = whole(|d| match d {
            Difference::Missing(o) => Some(o),
            _ => None,
        });
        let unexpected_whole = whole(|d| match d {
            Difference::Unexpected(o) => Some(o),
            _ => None,
        });
        let belongs = |o: &SchemaObject, set: &BTreeSet<String>| {
            !CONTAINERS.contains(&o.kind.as_str())
                && o.relation.as_ref().is_some_and(|r| set.contains(r))
        };
        let parts_of = |name: &str, side: fn(&Difference) -> Option<&SchemaObject>| {
            let mut counts: Vec<(String, usize)> = Vec::new();
            for o in self.differences.iter().filter_map(side) {
                if o.relation.as_deref() == Some(name) && !CONTAINERS.contains(&o.kind.as_str()) {
                    match counts.iter_mut().find(|(k, _)| *k == o.kind) {
                        Some((_, n)) => *n += 1,
                        None => counts.push((o.kind.clone(), 1)),
                    }
                }
            }
            if counts.is_empty() {
                String::new()
            } else {
                let list: Vec<String> = counts
                    .iter()
                    .map(|(kind, n)| format!("{n} {kind}{}", if *n == 1 { "" } else { "s" }))
                    .collect();
                format!(" (with its {})", list.join(", "))
            }
        };
        let mut lines = Vec::new();
        for d in &self.differences {
            let line = match d {
                Difference::Missing(o) if belongs(o, &missing_whole) => continue,
                Difference::Unexpected(o) if belongs(o, &unexpected_whole) => continue,
                Difference::Missing(o) => format!(
                    "  - {}{}",
                    describe(o),
                    parts_of(&o.name, |d| match d {
                        Difference::Missing(o) => Some(o),
                        _ => None,
                    })
                ),
                Difference::Unexpected(o) => format!(
                    "  + {}{}",
                    describe(o),
                    parts_of(&o.name, |d| match d {
                        Difference::Unexpected(o) => Some(o),
                        _ => None,
                    })
                ),
                Difference::Changed { expected, found } => format!(
                    "  ~ {} {}: expected {}, found {}",
                    expected.kind,
                    expected.name,
                    shown(&expected.detail),
                    shown(&found.detail)
                ),
            };
            lines.push(line);
        }
        let total = lines.len();
        if total > limit {
            lines.truncate(limit);
            lines.push(format!("  … and {} more", total - limit));
        }
        lines.join("\n")
    }
}

fn describe(o: &SchemaObject) -> String {
    if o.detail.is_empty() {
        format!("{} {}", o.kind, o.name)
    } else {
        format!("{} {}: {}", o.kind, o.name, o.detail)
    }
}

fn shown(detail: &str) -> &str {
    if detail.is_empty() {
        "(nothing)"
    } else {
        detail
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(kind: &str, name: &str, relation: Option<&str>, detail: &str) -> SchemaObject {
        SchemaObject {
            kind: kind.into(),
            name: name.into(),
            relation: relation.map(Into::into),
            detail: detail.into(),
        }
    }

    fn user_table(image: Option<&str>) -> SchemaSnapshot {
        let mut objects = vec![
            obj("table", "public.user", Some("public.user"), ""),
            obj(
                "column",
                "public.user.id",
                Some("public.user"),
                "text not null",
            ),
        ];
        if let Some(detail) = image {
            objects.push(obj(
                "column",
                "public.user.image",
                Some("public.user"),
                detail,
            ));
        }
        SchemaSnapshot::from_objects(objects)
    }

    #[test]
    fn equal_snapshots_have_no_difference() {
        let a = user_table(Some("text null"));
        assert!(SchemaDiff::between(&a, &a.clone()).is_empty());
    }

    #[test]
    fn a_dropped_column_is_missing() {
        let diff = SchemaDiff::between(&user_table(Some("text null")), &user_table(None));
        assert_eq!(diff.len(), 1);
        assert_eq!(diff.render(10), "  - column public.user.image: text null");
    }

    #[test]
    fn a_changed_column_shows_both_definitions() {
        let diff = SchemaDiff::between(
            &user_table(Some("text null")),
            &user_table(Some("text not null")),
        );
        assert_eq!(
            diff.render(10),
            "  ~ column public.user.image: expected text null, found text not null"
        );
    }

    #[test]
    fn a_missing_table_is_one_line_counting_its_parts() {
        let expected = user_table(Some("text null"));
        let found = SchemaSnapshot::default();
        let diff = SchemaDiff::between(&expected, &found);
        assert_eq!(diff.len(), 3);
        assert_eq!(
            diff.render(10),
            "  - table public.user (with its 2 columns)"
        );
        let extra = SchemaDiff::between(&found, &expected);
        assert!(extra.render(10).starts_with("  + table public.user"));
    }

    #[test]
    fn long_diffs_are_cut() {
        let many: Vec<SchemaObject> = (0..5)
            .map(|i| obj("enum", &format!("public.e{i}"), None, "'a'"))
            .collect();
        let diff = SchemaDiff::between(
            &SchemaSnapshot::from_objects(many),
            &SchemaSnapshot::default(),
        );
        let text = diff.render(2);
        assert_eq!(text.lines().count(), 3, "{text}");
        assert!(text.ends_with("… and 3 more"));
    }
}
