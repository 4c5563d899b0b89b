//! What seed rows must set: the columns of an entity the database cannot fill in itself.
//!
//! A column is *required* when it is NOT NULL, has no default in the entity (`default_value`,
//! `default_expr`) and is not an auto-increment key. A row that leaves a required column unset
//! would fail in the database with a NOT NULL violation, typically right after a column was added
//! to an entity; seeds check their rows first and refuse before anything is written, naming the
//! entity, the column and where the rows come from ([`SeedOrigin`]).
//!
//! The entities are the schema's source of truth (`generate --check` keeps migrations equal to
//! them), so what they declare is what the database does. [`EntityColumns::of`] reads it;
//! [`EntityColumns::first_unset_required`] decides, without I/O.

use sea_orm::sea_query::ColumnType;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, IdenStatic, Iterable, PrimaryKeyToColumn,
    PrimaryKeyTrait,
};

use crate::Error;

/// Where seed rows come from, for the message and the fix of [`Error::SeedColumnUnset`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SeedOrigin {
    /// A seed file; `row` counts from 0.
    File { path: &'static str, row: usize },
    /// The demo generator's entity rows (`OrgData::generate`).
    DemoGenerator,
    /// The demo's binary COPY of chunks (`CHUNK_COPY_COLUMNS`).
    DemoChunkCopy,
}

impl SeedOrigin {
    /// Who leaves the column unset, for the message.
    pub(crate) fn who(&self) -> String {
        match self {
            Self::File { path, row } => format!("row {row} of {path}"),
            Self::DemoGenerator => {
                "the demo generator (`OrgData::generate` in src/seed/demo.rs)".into()
            }
            Self::DemoChunkCopy => {
                "the demo's chunk COPY (`CHUNK_COPY_COLUMNS` in src/seed/demo.rs)".into()
            }
        }
    }

    /// The second way out (the first is a default in the entity).
    pub(crate) fn fix(&self, column: &str) -> String {
        match self {
            Self::File { path, .. } => format!("set `{column}` in every row of {path}"),
            Self::DemoGenerator => {
                format!("set `{column}` in `OrgData::generate` (src/seed/demo.rs)")
            }
            Self::DemoChunkCopy => format!(
                "write `{column}` in the chunk COPY (`CHUNK_COPY_COLUMNS` and `encode_chunk` in src/seed/demo.rs)"
            ),
        }
    }
}

/// One column of an entity, as seeds see it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SeedColumn {
    /// The column's name in the database.
    pub name: &'static str,
    /// Its key in a seed file's row objects.
    pub key: &'static str,
    /// NULL allowed (an `Option` field).
    pub nullable: bool,
    /// The database fills it in when a row leaves it out: a default in the entity, or an
    /// auto-increment key.
    pub defaulted: bool,
    /// Its type, for a placeholder the row can be read with (`placeholder.rs`).
    pub column_type: ColumnType,
}

impl SeedColumn {
    /// Rows must set it.
    pub fn required(&self) -> bool {
        !self.nullable && !self.defaulted
    }
}

/// The columns of one entity.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct EntityColumns {
    /// The entity's module path (`entity::organization`), as the user finds it.
    pub entity: &'static str,
    /// Its table.
    pub table: &'static str,
    /// Its columns, in declaration order.
    pub columns: Vec<SeedColumn>,
}

impl EntityColumns {
    /// Reads what entity `E` declares.
    pub fn of<E: EntityTrait>() -> Self {
        let auto_increment = E::PrimaryKey::auto_increment();
        let keys: Vec<&'static str> = E::PrimaryKey::iter()
            .map(|k| k.into_column().as_str())
            .collect();
        let columns = E::Column::iter()
            .map(|c| {
                let def = c.def();
                SeedColumn {
                    name: c.as_str(),
                    key: c.json_key(),
                    nullable: def.is_null(),
                    defaulted: def.get_column_default().is_some()
                        || (auto_increment && keys.contains(&c.as_str())),
                    column_type: def.get_column_type().clone(),
                }
            })
            .collect();
        Self {
            entity: std::any::type_name::<E>()
                .strip_suffix("::Entity")
                .unwrap_or(std::any::type_name::<E>()),
            table: E::default().table_name(),
            columns,
        }
    }

    /// The first required column (in declaration order) that `is_set` says a row leaves unset.
    pub fn first_unset_required(
        &self,
        is_set: impl Fn(&SeedColumn) -> bool,
    ) -> Option<&SeedColumn> {
        self.columns.iter().find(|c| c.required() && !is_set(c))
    }

    /// Refuses `model` when it leaves a required column `NotSet`.
    pub fn check_model<A>(&self, model: &A, origin: SeedOrigin) -> Result<(), Error>
    where
        A: ActiveModelTrait,
    {
        let unset: Vec<&'static str> = <A::Entity as EntityTrait>::Column::iter()
            .filter(|c| model.get(*c).is_not_set())
            .map(|c| c.as_str())
            .collect();
        self.refuse_unset(|c| !unset.contains(&c.name), origin)
    }

    /// Refuses rows that set only what `is_set` says when that leaves a required column unset.
    pub fn refuse_unset(
        &self,
        is_set: impl Fn(&SeedColumn) -> bool,
        origin: SeedOrigin,
    ) -> Result<(), Error> {
        match self.first_unset_required(is_set) {
            None => Ok(()),
            Some(column) => Err(Error::SeedColumnUnset {
                entity: self.entity,
                table: self.table,
                column: column.name,
                origin,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(name: &'static str, nullable: bool, defaulted: bool) -> SeedColumn {
        SeedColumn {
            name,
            key: name,
            nullable,
            defaulted,
            column_type: ColumnType::Integer,
        }
    }

    fn table() -> EntityColumns {
        EntityColumns {
            entity: "entity::organization",
            table: "organization",
            columns: vec![
                column("id", false, false),
                column("note", true, false),
                column("level", false, true),
                column("seat_limit", false, false),
                column("plan", false, false),
            ],
        }
    }

    #[test]
    fn only_not_null_columns_without_a_default_are_required() {
        let required: Vec<&str> = table()
            .columns
            .iter()
            .filter(|c| c.required())
            .map(|c| c.name)
            .collect();
        assert_eq!(required, ["id", "seat_limit", "plan"]);
        // Nullable with a default: not required either.
        assert!(!column("x", true, true).required());
    }

    #[test]
    fn the_first_required_column_left_unset_is_named() {
        let t = table();
        let set = |names: &'static [&'static str]| move |c: &SeedColumn| names.contains(&c.name);
        assert_eq!(
            t.first_unset_required(set(&["id", "seat_limit", "plan"])),
            None
        );
        // Nullable and defaulted columns may be left out.
        assert_eq!(
            t.first_unset_required(set(&["id", "plan", "note"]))
                .map(|c| c.name),
            Some("seat_limit")
        );
        assert_eq!(t.first_unset_required(set(&[])).map(|c| c.name), Some("id"));
    }

    #[test]
    fn the_refusal_names_entity_column_origin_and_both_fixes() {
        let t = table();
        let file = t
            .refuse_unset(
                |c| c.name != "seat_limit",
                SeedOrigin::File {
                    path: "seeds/initial/organization.json",
                    row: 2,
                },
            )
            .unwrap_err()
            .to_string();
        for part in [
            "organization.seat_limit",
            "NOT NULL without a default",
            "row 2 of seeds/initial/organization.json",
            "nothing was written",
            "fix: give `seat_limit` a default in entity::organization",
            "default_value",
            "migration generate",
            "set `seat_limit` in every row of seeds/initial/organization.json",
        ] {
            assert!(file.contains(part), "{part:?} missing from: {file}");
        }
        let demo = t
            .refuse_unset(|c| c.name != "plan", SeedOrigin::DemoGenerator)
            .unwrap_err()
            .to_string();
        assert!(
            demo.contains("organization.plan")
                && demo.contains("the demo generator")
                && demo.contains("set `plan` in `OrgData::generate` (src/seed/demo.rs)"),
            "{demo}"
        );
        let copy = t
            .refuse_unset(|c| c.name != "plan", SeedOrigin::DemoChunkCopy)
            .unwrap_err()
            .to_string();
        assert!(copy.contains("CHUNK_COPY_COLUMNS"), "{copy}");
    }

    #[test]
    fn what_the_project_entities_declare_is_read() {
        let org = EntityColumns::of::<entity::organization::Entity>();
        assert_eq!(org.entity, "entity::organization");
        assert_eq!(org.table, "organization");
        let by_name = |t: &EntityColumns, n: &str| {
            t.columns
                .iter()
                .find(|c| c.name == n)
                .cloned()
                .unwrap_or_else(|| panic!("no column {n}"))
        };
        assert!(by_name(&org, "name").required());
        assert!(by_name(&org, "logo").nullable);
        // `default_value = 0`, `default_expr = now()`, and a serial key.
        let usage = EntityColumns::of::<entity::ai_usage::Entity>();
        assert!(by_name(&usage, "input_tokens").defaulted);
        assert!(by_name(&usage, "created_at").defaulted);
        assert!(by_name(&usage, "id").defaulted);
        assert!(by_name(&usage, "model").required());
        // A key that is not auto-increment is required.
        assert!(by_name(&org, "id").required());
    }

    #[test]
    fn a_model_leaving_a_required_column_not_set_is_refused() {
        use sea_orm::ActiveValue::{NotSet, Set};
        let t = EntityColumns::of::<entity::member::Entity>();
        let mut member = entity::member::ActiveModel {
            id: Set("m".into()),
            organization_id: Set("o".into()),
            user_id: Set("u".into()),
            created_at: Set(chrono::NaiveDateTime::default()),
            ..Default::default()
        };
        // `role` has a default.
        assert!(t.check_model(&member, SeedOrigin::DemoGenerator).is_ok());
        member.user_id = NotSet;
        let e = t
            .check_model(&member, SeedOrigin::DemoGenerator)
            .unwrap_err();
        assert!(
            matches!(
                e,
                Error::SeedColumnUnset {
                    table: "member",
                    column: "user_id",
                    origin: SeedOrigin::DemoGenerator,
                    ..
                }
            ),
            "{e}"
        );
    }
}
