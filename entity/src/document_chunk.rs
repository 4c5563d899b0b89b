//! `document_chunk`: embedded text chunks of a document source, searched with pgvector.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// Dimension of `embedding`: OpenAI `text-embedding-3-small`.
pub const EMBEDDING_DIMENSION: usize = 1536;

/// One chunk of a source with its 1536-d embedding (HNSW index, cosine distance).
///
/// `organization_id` is denormalised from the source so that search filters on the chunk table
/// alone; the composite foreign key `(source_id, organization_id)` keeps it honest.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "document_chunk")]
pub struct Model {
    #[sea_orm(
        primary_key,
        auto_increment = false,
        default_expr = "Expr::cust(\"gen_random_uuid()\")"
    )]
    pub id: Uuid,
    #[sea_orm(column_type = "Text")]
    pub organization_id: String,
    #[sea_orm(unique_key = "source_chunk_index")]
    pub source_id: Uuid,
    #[sea_orm(unique_key = "source_chunk_index")]
    pub chunk_index: i32,
    #[sea_orm(column_type = "Text")]
    pub content: String,
    #[sea_orm(default_value = 0)]
    pub token_count: i32,
    #[sea_orm(column_type = "Vector(Some(1536))")]
    pub embedding: PgVector,
    #[sea_orm(
        column_type = "JsonBinary",
        default_expr = "Expr::cust(\"'{}'::jsonb\")"
    )]
    pub metadata: Json,
    #[sea_orm(default_expr = "Expr::cust(\"now()\")")]
    pub created_at: DateTimeWithTimeZone,
    #[sea_orm(belongs_to, from = "organization_id", to = "id", on_delete = "Cascade")]
    pub organization: BelongsTo<super::organization::Entity>,
    #[sea_orm(
        belongs_to,
        from = "(source_id, organization_id)",
        to = "(id, organization_id)",
        on_delete = "Cascade"
    )]
    pub source: BelongsTo<super::document_source::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
