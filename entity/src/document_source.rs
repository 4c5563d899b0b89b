//! `document_source`: a document ingested for RAG (upload, URL, pasted text, integration).

use super::sea_orm_active_enums::DocumentSourceStatus;
use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A RAG source; its chunks live in `document_chunk`.
///
/// `(id, organization_id)` is unique so that chunks can reference it with a composite foreign key:
/// a chunk's denormalised `organization_id` can then never disagree with its source's.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "document_source")]
pub struct Model {
    #[sea_orm(
        primary_key,
        auto_increment = false,
        unique_key = "id_organization",
        default_expr = "Expr::cust(\"gen_random_uuid()\")"
    )]
    pub id: Uuid,
    #[sea_orm(column_type = "Text", unique_key = "id_organization")]
    pub organization_id: String,
    #[sea_orm(column_type = "Text")]
    pub created_by: Option<String>,
    /// `upload`, `url`, `text` or `integration` (CHECK).
    #[sea_orm(column_type = "Text")]
    pub kind: String,
    #[sea_orm(column_type = "Text")]
    pub title: String,
    #[sea_orm(column_type = "Text")]
    pub uri: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub mime_type: Option<String>,
    /// Hash of the raw content, indexed with the organization so ingestion can skip a re-upload.
    #[sea_orm(column_type = "Text")]
    pub content_hash: Option<String>,
    pub byte_size: Option<i64>,
    #[sea_orm(default_value = "pending")]
    pub status: DocumentSourceStatus,
    #[sea_orm(column_type = "Text")]
    pub error: Option<String>,
    #[sea_orm(default_value = 0)]
    pub chunk_count: i32,
    #[sea_orm(
        column_type = "JsonBinary",
        default_expr = "Expr::cust(\"'{}'::jsonb\")"
    )]
    pub metadata: Json,
    #[sea_orm(default_expr = "Expr::cust(\"now()\")")]
    pub created_at: DateTimeWithTimeZone,
    #[sea_orm(default_expr = "Expr::cust(\"now()\")")]
    pub updated_at: DateTimeWithTimeZone,
    #[sea_orm(belongs_to, from = "organization_id", to = "id", on_delete = "Cascade")]
    pub organization: BelongsTo<super::organization::Entity>,
    #[sea_orm(belongs_to, from = "created_by", to = "id", on_delete = "SetNull")]
    pub creator: BelongsTo<Option<super::user::Entity>>,
    #[sea_orm(has_many)]
    pub chunks: HasMany<super::document_chunk::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
