//! Seed sets: data files compiled into the binary, inserted through the SeaORM entities.

use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveModelTrait, DatabaseTransaction, EntityTrait, IntoActiveModel, Iterable,
    PrimaryKeyToColumn, TryIntoModel,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

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
    /// file or a field the entity no longer has is reported with the file's path.
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

/// The rows of a file as active models of entity `E`.
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
    let known: Vec<String> = E::Column::iter()
        .map(|c| sea_orm::ColumnTrait::json_key(&c).to_string())
        .collect();
    rows.into_iter()
        .enumerate()
        .map(|(i, mut row)| {
            let Some(object) = row.as_object_mut() else {
                return Err(bad(file, format!("row {i} is not a JSON object")));
            };
            if let Some(unknown) = object.keys().find(|k| !known.contains(k)) {
                return Err(bad(
                    file,
                    format!(
                        "row {i} has field `{unknown}`, which {} does not have (fields: {})",
                        file.table,
                        known.join(", ")
                    ),
                ));
            }
            if let Some(serde_json::Value::String(s)) = object.get("embedding")
                && let Some(label) = s.strip_prefix("synthetic:")
            {
                let v = embedding_for_label(label, entity::document_chunk::EMBEDDING_DIMENSION);
                object.insert(
                    "embedding".into(),
                    serde_json::to_value(v).map_err(|e| bad(file, e))?,
                );
            }
            E::ActiveModel::from_json(row).map_err(|e| bad(file, format!("row {i}: {e}")))
        })
        .collect()
}

/// Inserts a file's rows in one statement; returns how many rows were written.
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
    if models.is_empty() {
        return Ok(0);
    }
    let keys: Vec<E::Column> = E::PrimaryKey::iter().map(|k| k.into_column()).collect();
    let key_names: Vec<&str> = keys
        .iter()
        .map(|k| sea_orm::IdenStatic::as_str(k))
        .collect();
    let others: Vec<E::Column> = E::Column::iter()
        .filter(|c| !key_names.contains(&sea_orm::IdenStatic::as_str(c)))
        .collect();
    let mut on_conflict = OnConflict::columns(keys);
    match conflict {
        Conflict::Keep => on_conflict.do_nothing(),
        Conflict::Update => on_conflict.update_columns(others),
    };
    let result = E::insert_many(models)
        .on_conflict(on_conflict)
        .exec_without_returning(txn)
        .await
        .map_err(|e| bad(file, format!("insert failed: {e}")))?;
    Ok(result)
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
        let e = dispatch_parse(&missing).unwrap_err().to_string();
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
