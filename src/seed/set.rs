//! Seed sets: data files compiled into the binary, inserted through the SeaORM entities.

use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveModelTrait, DatabaseTransaction, EntityTrait, IntoActiveModel, Iterable,
    PrimaryKeyToColumn, TryIntoModel,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

use std::collections::HashMap;

use super::columns::{EntityColumns, SeedColumn, SeedOrigin};
use super::placeholder;
use super::synthetic::embedding_for_label;
use crate::Error;
use crate::journal::sha256_hex;

/// One data file: the rows of one table, as a JSON array of objects keyed by field name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeedFile {
    /// The table (and entity module) the rows belong to.
    pub table: &'static str,
    /// The file's path in the repository, for messages.
    pub path: &'static str,
    /// The file's text.
    pub json: &'static str,
}

/// A named set of files, in foreign-key order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeedSet {
    /// The name recorded in the database.
    pub name: &'static str,
    /// The files, parents before children.
    pub files: &'static [SeedFile],
}

macro_rules! seed_file {
    ($set:literal, $table:literal) => {
        SeedFile {
            table: $table,
            path: concat!("seeds/", $set, "/", $table, ".json"),
            json: include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/seeds/",
                $set,
                "/",
                $table,
                ".json"
            )),
        }
    };
}

/// The initial data of a fresh environment (see `seeds/initial/README.md`).
pub const INITIAL: SeedSet = SeedSet {
    name: "initial",
    files: &[
        seed_file!("initial", "organization"),
        seed_file!("initial", "user"),
        seed_file!("initial", "member"),
        seed_file!("initial", "org_credits"),
        seed_file!("initial", "subscription"),
        seed_file!("initial", "feature_flags"),
        seed_file!("initial", "announcements"),
        seed_file!("initial", "roadmap_items"),
        seed_file!("initial", "document_source"),
        seed_file!("initial", "document_chunk"),
    ],
};

impl SeedSet {
    /// SHA-256 over every file's path and bytes, in order: changes when any file changes.
    pub fn hash(&self) -> String {
        let mut all = Vec::new();
        for file in self.files {
            all.extend_from_slice(file.path.as_bytes());
            all.push(0);
            all.extend_from_slice(file.json.as_bytes());
            all.push(0);
        }
        sha256_hex(&all)
    }

    /// Parses every file into its entity's models without touching a database: a malformed
    /// file or a field the entity no longer has is reported with the file's path, a row leaving
    /// out a column the database cannot fill in with the column ([`Error::SeedColumnUnset`]).
    pub fn check(&self) -> Result<usize, Error> {
        let mut rows = 0;
        for file in self.files {
            rows += dispatch_parse(file)?;
        }
        Ok(rows)
    }
}

/// How rows that already exist (same primary key) are treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conflict {
    /// Leave them as they are.
    Keep,
    /// Overwrite them with the file's values.
    Update,
}

fn bad(file: &SeedFile, problem: impl std::fmt::Display) -> Error {
    Error::SeedFile {
        path: file.path,
        problem: problem.to_string(),
    }
}

/// The rows of a file as active models of entity `E`, each setting exactly the fields its row
/// has: a field the row leaves out is `NotSet`, so the database fills it in (NULL or the
/// column's default). A row that leaves out a column the database cannot fill in is refused
/// ([`Error::SeedColumnUnset`]).
fn parse<E>(file: &SeedFile) -> Result<Vec<E::ActiveModel>, Error>
where
    E: EntityTrait,
    E::Model: IntoActiveModel<E::ActiveModel> + Serialize + DeserializeOwned,
    E::ActiveModel: ActiveModelTrait<Entity = E> + TryIntoModel<E::Model>,
{
    let value: serde_json::Value =
        serde_json::from_str(file.json).map_err(|e| bad(file, format!("not valid JSON: {e}")))?;
    let serde_json::Value::Array(rows) = value else {
        return Err(bad(file, "the file must hold a JSON array of row objects"));
    };
    let columns = EntityColumns::of::<E>();
    let known: Vec<&str> = columns.columns.iter().map(|c| c.key).collect();
    let mut stand_ins = StandIns::default();
    rows.into_iter()
        .enumerate()
        .map(|(i, row)| {
            let serde_json::Value::Object(mut object) = row else {
                return Err(bad(file, format!("row {i} is not a JSON object")));
            };
            if let Some(unknown) = object.keys().find(|k| !known.contains(&k.as_str())) {
                return Err(bad(
                    file,
                    format!(
                        "row {i} has field `{unknown}`, which {} does not have (fields: {})",
                        file.table,
                        known.join(", ")
                    ),
                ));
            }
            columns.refuse_unset(
                |c| object.contains_key(c.key),
                SeedOrigin::File {
                    path: file.path,
                    row: i,
                },
            )?;
            if let Some(serde_json::Value::String(s)) = object.get("embedding")
                && let Some(label) = s.strip_prefix("synthetic:")
            {
                let v = embedding_for_label(label, entity::document_chunk::EMBEDDING_DIMENSION);
                object.insert(
                    "embedding".into(),
                    serde_json::to_value(v).map_err(|e| bad(file, e))?,
                );
            }
            read_row::<E>(file, i, object, &columns, &mut stand_ins)
        })
        .collect()
}

/// The stand-ins that let rows leaving out these keys be read, found once per set of keys.
type StandIns = HashMap<Vec<&'static str>, Vec<serde_json::Value>>;

/// Reads one row into an active model: the columns it leaves out get stand-ins of their type
/// (`placeholder.rs`) for the reading, then become `NotSet`.
fn read_row<E>(
    file: &SeedFile,
    i: usize,
    object: serde_json::Map<String, serde_json::Value>,
    columns: &EntityColumns,
    stand_ins: &mut StandIns,
) -> Result<E::ActiveModel, Error>
where
    E: EntityTrait,
    E::Model: IntoActiveModel<E::ActiveModel> + Serialize + DeserializeOwned,
    E::ActiveModel: ActiveModelTrait<Entity = E> + TryIntoModel<E::Model>,
{
    let left_out: Vec<&SeedColumn> = columns
        .columns
        .iter()
        .filter(|c| !object.contains_key(c.key))
        .collect();
    let keys: Vec<&'static str> = left_out.iter().map(|c| c.key).collect();
    let lists: Vec<Vec<serde_json::Value>> = match stand_ins.get(&keys) {
        Some(found) => found.iter().map(|v| vec![v.clone()]).collect(),
        None => left_out
            .iter()
            .map(|c| placeholder::candidates(c.nullable, &c.column_type))
            .collect(),
    };
    let mut first_error = None;
    for choice in placeholder::combinations(&lists, placeholder::MAX_TRIES) {
        let mut row = object.clone();
        for (column, value) in left_out.iter().zip(&choice) {
            row.insert(column.key.to_string(), (*value).clone());
        }
        match E::ActiveModel::from_json(serde_json::Value::Object(row)) {
            Ok(mut model) => {
                for column in E::Column::iter() {
                    if keys.contains(&sea_orm::ColumnTrait::json_key(&column)) {
                        model.not_set(column);
                    }
                }
                stand_ins.insert(keys, choice.into_iter().cloned().collect());
                return Ok(model);
            }
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    let left_out = if keys.is_empty() {
        String::new()
    } else {
        format!(
            " (the row leaves out {}: set them if the error is about them)",
            keys.join(", ")
        )
    };
    Err(bad(
        file,
        match first_error {
            Some(e) => format!("row {i}: {e}{left_out}"),
            None => format!(
                "row {i}: a column it leaves out has a type seeds cannot stand in for{left_out}"
            ),
        },
    ))
}

/// Inserts a file's rows, one statement per run of rows that set the same columns (a
/// multi-row INSERT would write NULL, not the default, where one row leaves out a column another
/// sets); returns how many rows were written. On a conflict, [`Conflict::Update`] overwrites
/// the columns the rows set, and only those.
async fn insert<E>(
    txn: &DatabaseTransaction,
    file: &SeedFile,
    conflict: Conflict,
) -> Result<u64, Error>
where
    E: EntityTrait,
    E::Model: IntoActiveModel<E::ActiveModel> + Serialize + DeserializeOwned,
    E::ActiveModel: ActiveModelTrait<Entity = E> + TryIntoModel<E::Model> + Send,
{
    let models = parse::<E>(file)?;
    let keys: Vec<E::Column> = E::PrimaryKey::iter().map(|k| k.into_column()).collect();
    let key_names: Vec<&str> = keys
        .iter()
        .map(|k| sea_orm::IdenStatic::as_str(k))
        .collect();
    let mut written = 0;
    for run in runs_of_same_shape(models) {
        let set: Vec<E::Column> = E::Column::iter()
            .filter(|c| !run[0].get(*c).is_not_set())
            .filter(|c| !key_names.contains(&sea_orm::IdenStatic::as_str(c)))
            .collect();
        let mut on_conflict = OnConflict::columns(keys.clone());
        match conflict {
            Conflict::Update if !set.is_empty() => on_conflict.update_columns(set),
            Conflict::Keep | Conflict::Update => on_conflict.do_nothing(),
        };
        written += E::insert_many(run)
            .on_conflict(on_conflict)
            .exec_without_returning(txn)
            .await
            .map_err(|e| bad(file, format!("insert failed: {e}")))?;
    }
    Ok(written)
}

/// Consecutive models that leave the same columns `NotSet`, in order.
fn runs_of_same_shape<A: ActiveModelTrait>(models: Vec<A>) -> Vec<Vec<A>> {
    let shape = |m: &A| -> Vec<bool> {
        <A::Entity as EntityTrait>::Column::iter()
            .map(|c| m.get(c).is_not_set())
            .collect()
    };
    let mut runs: Vec<Vec<A>> = Vec::new();
    for model in models {
        match runs.last_mut() {
            Some(run) if shape(&run[0]) == shape(&model) => run.push(model),
            _ => runs.push(vec![model]),
        }
    }
    runs
}

macro_rules! by_table {
    ($file:expr, $call:ident ( $($arg:expr),* ) $($suffix:tt)*) => {
        match $file.table {
            "organization" => $call::<entity::organization::Entity>($($arg),*) $($suffix)*,
            "user" => $call::<entity::user::Entity>($($arg),*) $($suffix)*,
            "member" => $call::<entity::member::Entity>($($arg),*) $($suffix)*,
            "session" => $call::<entity::session::Entity>($($arg),*) $($suffix)*,
            "account" => $call::<entity::account::Entity>($($arg),*) $($suffix)*,
            "verification" => $call::<entity::verification::Entity>($($arg),*) $($suffix)*,
            "invitation" => $call::<entity::invitation::Entity>($($arg),*) $($suffix)*,
            "org_credits" => $call::<entity::org_credits::Entity>($($arg),*) $($suffix)*,
            "subscription" => $call::<entity::subscription::Entity>($($arg),*) $($suffix)*,
            "ai_usage" => $call::<entity::ai_usage::Entity>($($arg),*) $($suffix)*,
            "feature_flags" => $call::<entity::feature_flags::Entity>($($arg),*) $($suffix)*,
            "announcements" => $call::<entity::announcements::Entity>($($arg),*) $($suffix)*,
            "roadmap_items" => $call::<entity::roadmap_items::Entity>($($arg),*) $($suffix)*,
            "roadmap_votes" => $call::<entity::roadmap_votes::Entity>($($arg),*) $($suffix)*,
            "referrals" => $call::<entity::referrals::Entity>($($arg),*) $($suffix)*,
            "waitlist_entries" => $call::<entity::waitlist_entries::Entity>($($arg),*) $($suffix)*,
            "webhook_endpoints" => $call::<entity::webhook_endpoints::Entity>($($arg),*) $($suffix)*,
            "document_source" => $call::<entity::document_source::Entity>($($arg),*) $($suffix)*,
            "document_chunk" => $call::<entity::document_chunk::Entity>($($arg),*) $($suffix)*,
            other => return Err(bad($file, format!("no entity for table `{other}`"))),
        }
    };
}

fn dispatch_parse(file: &SeedFile) -> Result<usize, Error> {
    fn count<E>(file: &SeedFile) -> Result<usize, Error>
    where
        E: EntityTrait,
        E::Model: IntoActiveModel<E::ActiveModel> + Serialize + DeserializeOwned,
        E::ActiveModel: ActiveModelTrait<Entity = E> + TryIntoModel<E::Model>,
    {
        parse::<E>(file).map(|rows| rows.len())
    }
    by_table!(file, count(file))
}

/// Inserts one file through its entity.
pub(crate) async fn insert_file(
    txn: &DatabaseTransaction,
    file: &SeedFile,
    conflict: Conflict,
) -> Result<u64, Error> {
    by_table!(file, insert(txn, file, conflict).await)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_initial_file_parses_into_its_entity() {
        let rows = INITIAL.check().unwrap_or_else(|e| panic!("{e}"));
        assert!(rows >= 20, "the initial set has {rows} rows");
    }

    #[test]
    fn every_file_in_the_folder_is_in_the_set() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds/initial");
        let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(|e| {
                e.ok()?
                    .file_name()
                    .to_str()?
                    .strip_suffix(".json")
                    .map(str::to_string)
            })
            .collect();
        on_disk.sort();
        let mut listed: Vec<String> = INITIAL.files.iter().map(|f| f.table.to_string()).collect();
        listed.sort();
        assert_eq!(on_disk, listed, "seeds/initial and INITIAL.files disagree");
    }

    #[test]
    fn malformed_files_name_the_file_and_the_problem() {
        let broken = SeedFile {
            table: "organization",
            path: "seeds/x/organization.json",
            json: "[{\"id\": 1,}]",
        };
        let e = dispatch_parse(&broken).unwrap_err().to_string();
        assert!(
            e.contains("seeds/x/organization.json") && e.contains("not valid JSON"),
            "{e}"
        );
        let unknown = SeedFile {
            table: "organization",
            path: "seeds/x/organization.json",
            json: "[{\"id\": \"o\", \"nmae\": \"typo\"}]",
        };
        let e = dispatch_parse(&unknown).unwrap_err().to_string();
        assert!(
            e.contains("`nmae`") && e.contains("fields: id, name"),
            "{e}"
        );
        let missing = SeedFile {
            table: "organization",
            path: "seeds/x/organization.json",
            json: "[{\"id\": \"o\"}]",
        };
        let e = dispatch_parse(&missing).unwrap_err();
        assert!(
            matches!(
                e,
                Error::SeedColumnUnset {
                    table: "organization",
                    column: "name",
                    origin: SeedOrigin::File {
                        path: "seeds/x/organization.json",
                        row: 0
                    },
                    ..
                }
            ),
            "{e}"
        );
        let wrong_type = SeedFile {
            table: "organization",
            path: "seeds/x/organization.json",
            json: "[{\"id\": \"o\", \"name\": 1, \"slug\": \"o\", \"created_at\": \"2026-01-05T09:00:00\"}]",
        };
        let e = dispatch_parse(&wrong_type).unwrap_err().to_string();
        assert!(
            e.contains("seeds/x/organization.json") && e.contains("row 0"),
            "{e}"
        );
        let table = SeedFile {
            table: "nope",
            path: "seeds/x/nope.json",
            json: "[]",
        };
        assert!(
            dispatch_parse(&table)
                .unwrap_err()
                .to_string()
                .contains("no entity for table `nope`")
        );
    }

    /// Columns the database fills in may be left out of a row, whatever their type: they are
    /// `NotSet`, not a stand-in value written to the table. (SeaORM's own stand-ins do not read
    /// back for timestamps and enums, so a `NOT NULL DEFAULT now()` column added to an entity
    /// used to break every seed file of its table.)
    #[test]
    fn a_row_may_leave_out_any_column_the_database_fills_in() {
        use entity::document_source;
        use sea_orm::ActiveValue;
        let file = SeedFile {
            table: "document_source",
            path: "seeds/x/document_source.json",
            json: r#"[
                {"id": "5eed0000-0000-4000-8000-000000000001", "organization_id": "o",
                 "kind": "text", "title": "a"},
                {"id": "5eed0000-0000-4000-8000-000000000002", "organization_id": "o",
                 "kind": "text", "title": "b", "status": "ready", "chunk_count": 3}
            ]"#,
        };
        let rows = parse::<document_source::Entity>(&file).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(rows.len(), 2);
        // Defaulted: timestamptz `now()`, an enum `'pending'`, jsonb, an integer; nullable: the rest.
        for left_out in [
            document_source::Column::CreatedAt,
            document_source::Column::UpdatedAt,
            document_source::Column::Metadata,
            document_source::Column::ByteSize,
            document_source::Column::Uri,
        ] {
            assert!(rows[0].get(left_out).is_not_set(), "{left_out:?}");
        }
        assert!(rows[0].status.is_not_set() && rows[0].chunk_count.is_not_set());
        assert_eq!(
            rows[1].status,
            ActiveValue::Set(entity::sea_orm_active_enums::DocumentSourceStatus::Ready)
        );
        assert_eq!(rows[1].chunk_count, ActiveValue::Set(3));
        assert_eq!(rows[1].title, ActiveValue::Set("b".to_string()));
        // The two rows set different columns: two INSERTs, each with its own column list.
        let runs = runs_of_same_shape(rows);
        assert_eq!(runs.iter().map(Vec::len).collect::<Vec<_>>(), [1, 1]);
    }

    #[test]
    fn the_hash_changes_with_any_byte() {
        let a = INITIAL.hash();
        let files: &'static [SeedFile] = Box::leak(Box::new([SeedFile {
            json: "[]",
            ..INITIAL.files[0]
        }]));
        let b = SeedSet {
            name: "initial",
            files,
        }
        .hash();
        assert_ne!(a, b);
        assert_eq!(a, INITIAL.hash());
    }
}
