//! A round trip through every entity against the migrated schema: insert, read back, and one
//! relation query each. Also checks the ON DELETE rules the schema chose.

mod common;

use app_db::sea_orm_active_enums::*;
use app_db::*;
use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime};
use sea_orm::EntityLoaderTrait;
use sea_orm::prelude::PgVector;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, IntoActiveModel, JoinType, ModelTrait, QueryFilter, QuerySelect, RelationTrait,
};
use serde_json::json;
use uuid::Uuid;

const UNIQUE_VIOLATION: &str = "23505";
const FOREIGN_KEY_VIOLATION: &str = "23503";
const CHECK_VIOLATION: &str = "23514";
const NOT_NULL_VIOLATION: &str = "23502";
/// What PostgreSQL answers for a label that is not in an enum type.
const INVALID_TEXT_REPRESENTATION: &str = "22P02";

/// Fails unless `result` is PostgreSQL's refusal with `sqlstate` and, when `constraint` is not
/// empty, that constraint's name: any other error (a connection problem, a typo in the SQL, the
/// wrong constraint) fails the test instead of passing for the one meant.
#[track_caller]
fn refused<T: std::fmt::Debug>(
    result: Result<T, sea_orm::DbErr>,
    sqlstate: &str,
    constraint: &str,
    what: &str,
) {
    use sea_orm::{DbErr, RuntimeErr};
    let err = match result {
        Ok(value) => panic!("{what}: the database accepted it ({value:?})"),
        Err(err) => err,
    };
    let db = match &err {
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => {
            e.as_database_error()
        }
        _ => None,
    }
    .unwrap_or_else(|| panic!("{what}: not an error from PostgreSQL: {err:?}"));
    assert_eq!(db.code().as_deref(), Some(sqlstate), "{what}: {err}");
    if !constraint.is_empty() {
        assert_eq!(db.constraint(), Some(constraint), "{what}: {err}");
    }
}

/// Fixed, microsecond-precision times: PostgreSQL keeps microseconds, so `now()` with nanoseconds
/// would not round-trip equal.
fn ts() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2026, 1, 15)
        .and_then(|d| d.and_hms_micro_opt(10, 30, 0, 123_456))
        .expect("valid date")
}

fn tstz() -> DateTime<FixedOffset> {
    ts().and_utc().fixed_offset()
}

async fn user(db: &DatabaseConnection, id: &str) -> user::Model {
    user::ActiveModel {
        id: Set(id.into()),
        name: Set(format!("User {id}")),
        email: Set(format!("{id}@example.com")),
        email_verified: Set(true),
        image: Set(None),
        created_at: Set(ts()),
        updated_at: Set(ts()),
        ..Default::default()
    }
    .insert(db)
    .await
    .expect("insert user")
}

async fn organization(db: &DatabaseConnection, id: &str) -> organization::Model {
    organization::ActiveModel {
        id: Set(id.into()),
        name: Set(format!("Org {id}")),
        slug: Set(id.replace('_', "-")),
        logo: Set(Some("https://cdn.example.com/logo.png".into())),
        created_at: Set(ts()),
        metadata: Set(Some(r#"{"plan":"pro"}"#.into())),
        ..Default::default()
    }
    .insert(db)
    .await
    .expect("insert organization")
}

async fn member(db: &DatabaseConnection, org: &str, user: &str) -> member::Model {
    member::ActiveModel {
        id: Set(format!("mem_{org}_{user}")),
        organization_id: Set(org.into()),
        user_id: Set(user.into()),
        role: Set("owner".into()),
        created_at: Set(ts()),
        ..Default::default()
    }
    .insert(db)
    .await
    .expect("insert member")
}

async fn source(
    db: &DatabaseConnection,
    org: &str,
    creator: Option<&str>,
) -> document_source::Model {
    document_source::ActiveModel {
        id: Set(Uuid::new_v4()),
        organization_id: Set(org.into()),
        created_by: Set(creator.map(Into::into)),
        kind: Set("upload".into()),
        title: Set("Handbook.pdf".into()),
        uri: Set(Some("s3://bucket/handbook.pdf".into())),
        mime_type: Set(Some("application/pdf".into())),
        content_hash: Set(Some("sha256:abc".into())),
        byte_size: Set(Some(1024)),
        status: Set(DocumentSourceStatus::Ready),
        error: Set(None),
        chunk_count: Set(1),
        metadata: Set(json!({"pages": 3})),
        created_at: Set(tstz()),
        updated_at: Set(tstz()),
        ..Default::default()
    }
    .insert(db)
    .await
    .expect("insert document source")
}

fn embedding(seed: f32) -> PgVector {
    PgVector::from(
        (0..document_chunk::EMBEDDING_DIMENSION)
            .map(|i| ((i as f32 + seed) * 0.37).sin())
            .collect::<Vec<_>>(),
    )
}

async fn chunk(
    db: &DatabaseConnection,
    source: &document_source::Model,
    index: i32,
) -> document_chunk::Model {
    document_chunk::ActiveModel {
        id: Set(Uuid::new_v4()),
        organization_id: Set(source.organization_id.clone()),
        source_id: Set(source.id),
        chunk_index: Set(index),
        content: Set(format!("chunk {index}")),
        token_count: Set(42),
        embedding: Set(embedding(index as f32)),
        metadata: Set(json!({"page": 1})),
        created_at: Set(tstz()),
        ..Default::default()
    }
    .insert(db)
    .await
    .expect("insert chunk")
}

#[tokio::test]
async fn auth_and_organization_entities_round_trip() {
    let (db, _url) = common::migrated_db().await;
    let alice = user(&db, "usr_alice").await;
    assert_eq!(
        user::Entity::find_by_id("usr_alice")
            .one(&db)
            .await
            .unwrap(),
        Some(alice.clone())
    );

    let session = session::ActiveModel {
        id: Set("ses_1".into()),
        expires_at: Set(ts()),
        token: Set("tok_1".into()),
        created_at: Set(ts()),
        updated_at: Set(ts()),
        ip_address: Set(Some("203.0.113.7".into())),
        user_agent: Set(Some("test".into())),
        user_id: Set(alice.id.clone()),
        active_organization_id: Set(None),
        ..Default::default()
    }
    .insert(&db)
    .await
    .unwrap();
    assert_eq!(
        session::Entity::find_by_id("ses_1").one(&db).await.unwrap(),
        Some(session.clone())
    );
    assert_eq!(
        alice.find_related(session::Entity).all(&db).await.unwrap(),
        vec![session.clone()]
    );

    let account = account::ActiveModel {
        id: Set("acc_1".into()),
        account_id: Set("alice".into()),
        provider_id: Set("credential".into()),
        user_id: Set(alice.id.clone()),
        access_token: Set(None),
        refresh_token: Set(None),
        id_token: Set(None),
        access_token_expires_at: Set(None),
        refresh_token_expires_at: Set(Some(ts())),
        scope: Set(None),
        password: Set(Some("$argon2id$...".into())),
        created_at: Set(ts()),
        updated_at: Set(ts()),
        ..Default::default()
    }
    .insert(&db)
    .await
    .unwrap();
    assert_eq!(
        account::Entity::find_by_id("acc_1").one(&db).await.unwrap(),
        Some(account.clone())
    );
    assert_eq!(
        account.find_related(user::Entity).one(&db).await.unwrap(),
        Some(alice.clone())
    );

    let verification = verification::ActiveModel {
        id: Set("ver_1".into()),
        identifier: Set("alice@example.com".into()),
        value: Set("123456".into()),
        expires_at: Set(ts()),
        created_at: Set(ts()),
        updated_at: Set(ts()),
        ..Default::default()
    }
    .insert(&db)
    .await
    .unwrap();
    let found = verification::Entity::find()
        .filter(verification::Column::Identifier.eq("alice@example.com"))
        .all(&db)
        .await
        .unwrap();
    assert_eq!(found, vec![verification]);

    let acme = organization(&db, "org_acme").await;
    assert_eq!(
        organization::Entity::find_by_id("org_acme")
            .one(&db)
            .await
            .unwrap(),
        Some(acme.clone())
    );
    let membership = member(&db, "org_acme", "usr_alice").await;
    assert_eq!(
        member::Entity::find_by_id(membership.id.clone())
            .one(&db)
            .await
            .unwrap(),
        Some(membership.clone())
    );
    assert_eq!(
        membership
            .find_related(organization::Entity)
            .one(&db)
            .await
            .unwrap(),
        Some(acme.clone())
    );
    // Many-to-many through `member`, both ways.
    assert_eq!(
        acme.find_related(user::Entity).all(&db).await.unwrap(),
        vec![alice.clone()]
    );
    assert_eq!(
        alice
            .find_related(organization::Entity)
            .all(&db)
            .await
            .unwrap(),
        vec![acme.clone()]
    );
    // SeaORM 2.0's entity loader fills the HasMany field.
    let loaded = organization::Entity::load()
        .filter_by_id("org_acme")
        .with(member::Entity)
        .one(&db)
        .await
        .unwrap()
        .expect("loaded organization");
    assert_eq!(loaded.members.len(), 1);

    let invitation = invitation::ActiveModel {
        id: Set("inv_1".into()),
        organization_id: Set(acme.id.clone()),
        email: Set("bob@example.com".into()),
        role: Set(Some("member".into())),
        status: Set("pending".into()),
        expires_at: Set(ts()),
        created_at: Set(ts()),
        inviter_id: Set(alice.id.clone()),
        ..Default::default()
    }
    .insert(&db)
    .await
    .unwrap();
    assert_eq!(
        invitation::Entity::find_by_id("inv_1")
            .one(&db)
            .await
            .unwrap(),
        Some(invitation.clone())
    );
    assert_eq!(
        alice
            .find_related(invitation::Entity)
            .all(&db)
            .await
            .unwrap(),
        vec![invitation]
    );
}

#[tokio::test]
async fn billing_and_ai_usage_entities_round_trip() {
    let (db, _url) = common::migrated_db().await;
    let alice = user(&db, "usr_alice").await;
    let acme = organization(&db, "org_acme").await;

    let subscription = subscription::ActiveModel {
        id: Set(Uuid::new_v4()),
        organization_id: Set(acme.id.clone()),
        plan: Set("pro".into()),
        status: Set(SubscriptionStatus::Trialing),
        stripe_customer_id: Set(Some("cus_123".into())),
        stripe_subscription_id: Set(Some("sub_123".into())),
        seats: Set(5),
        trial_ends_at: Set(Some(tstz())),
        current_period_start: Set(None),
        current_period_end: Set(None),
        cancel_at_period_end: Set(false),
        canceled_at: Set(None),
        metadata: Set(json!({"coupon": null})),
        created_at: Set(tstz()),
        updated_at: Set(tstz()),
        monthly_ai_credits: Set(10_000),
        ..Default::default()
    }
    .insert(&db)
    .await
    .unwrap();
    assert_eq!(
        subscription::Entity::find_by_id(subscription.id)
            .one(&db)
            .await
            .unwrap(),
        Some(subscription.clone())
    );
    assert_eq!(
        acme.find_related(subscription::Entity)
            .all(&db)
            .await
            .unwrap(),
        vec![subscription]
    );

    let usage = ai_usage::ActiveModel {
        organization_id: Set(acme.id.clone()),
        user_id: Set(Some(alice.id.clone())),
        model: Set("gpt-4.1-mini".into()),
        feature: Set(Some("chat".into())),
        input_tokens: Set(1200),
        output_tokens: Set(300),
        credits_used: Set(15),
        cost_micro_usd: Set(840),
        request_id: Set(Some("req_1".into())),
        metadata: Set(json!({})),
        created_at: Set(tstz()),
        ..Default::default()
    };
    let usage = usage.insert(&db).await.unwrap();
    assert!(usage.id > 0);
    assert_eq!(
        ai_usage::Entity::find_by_id(usage.id)
            .one(&db)
            .await
            .unwrap(),
        Some(usage.clone())
    );
    assert_eq!(
        usage.find_related(user::Entity).one(&db).await.unwrap(),
        Some(alice)
    );

    let credits = org_credits::ActiveModel {
        organization_id: Set(acme.id.clone()),
        balance: Set(9_985),
        lifetime_granted: Set(10_000),
        monthly_allowance: Set(10_000),
        period_resets_at: Set(Some(tstz())),
        updated_at: Set(tstz()),
        ..Default::default()
    }
    .insert(&db)
    .await
    .unwrap();
    assert_eq!(
        org_credits::Entity::find_by_id("org_acme")
            .one(&db)
            .await
            .unwrap(),
        Some(credits.clone())
    );
    assert_eq!(
        acme.find_related(org_credits::Entity)
            .one(&db)
            .await
            .unwrap(),
        Some(credits)
    );

    // balance >= 0 is enforced by the database, not only by the app.
    let overdraft = org_credits::ActiveModel {
        organization_id: sea_orm::Set(acme.id.clone()),
        balance: sea_orm::Set(-1),
        ..Default::default()
    }
    .update(&db)
    .await;
    refused(
        overdraft,
        CHECK_VIOLATION,
        "org_credits_balance_check",
        "a negative balance",
    );
}

#[tokio::test]
async fn rag_entities_round_trip() {
    let (db, _url) = common::migrated_db().await;
    user(&db, "usr_alice").await;
    organization(&db, "org_acme").await;
    let source = source(&db, "org_acme", Some("usr_alice")).await;
    assert_eq!(
        document_source::Entity::find_by_id(source.id)
            .one(&db)
            .await
            .unwrap(),
        Some(source.clone())
    );

    let chunk = chunk(&db, &source, 0).await;
    let read = document_chunk::Entity::find_by_id(chunk.id)
        .one(&db)
        .await
        .unwrap();
    assert_eq!(
        read.as_ref().map(|c| c.embedding.as_slice().len()),
        Some(1536)
    );
    assert_eq!(read, Some(chunk.clone()));
    // The composite (source_id, organization_id) relation.
    assert_eq!(
        chunk
            .find_related(document_source::Entity)
            .one(&db)
            .await
            .unwrap(),
        Some(source.clone())
    );
    assert_eq!(
        source
            .find_related(document_chunk::Entity)
            .all(&db)
            .await
            .unwrap(),
        vec![chunk]
    );
}

#[tokio::test]
async fn growth_and_roadmap_entities_round_trip() {
    let (db, _url) = common::migrated_db().await;
    let alice = user(&db, "usr_alice").await;
    let bob = user(&db, "usr_bob").await;

    let referral = referrals::ActiveModel {
        id: Set(Uuid::new_v4()),
        referrer_user_id: Set(alice.id.clone()),
        referred_user_id: Set(Some(bob.id.clone())),
        code: Set("ALICE10".into()),
        referred_email: Set(Some(bob.email.clone())),
        status: Set(ReferralStatus::SignedUp),
        reward_credits: Set(500),
        converted_at: Set(None),
        created_at: Set(tstz()),
        ..Default::default()
    }
    .insert(&db)
    .await
    .unwrap();
    assert_eq!(
        referrals::Entity::find_by_id(referral.id)
            .one(&db)
            .await
            .unwrap(),
        Some(referral.clone())
    );
    // Two relations to `user`: pick one by its Relation variant.
    let referrer = user::Entity::find()
        .join(JoinType::InnerJoin, user::Relation::ReferralsMade.def())
        .filter(referrals::Column::Id.eq(referral.id))
        .one(&db)
        .await
        .unwrap();
    assert_eq!(referrer, Some(alice.clone()));
    let referred = user::Entity::find()
        .join(JoinType::InnerJoin, user::Relation::ReferralsReceived.def())
        .filter(referrals::Column::Id.eq(referral.id))
        .one(&db)
        .await
        .unwrap();
    assert_eq!(referred, Some(bob.clone()));

    let entry = waitlist_entries::ActiveModel {
        id: Set(Uuid::new_v4()),
        email: Set("carol@example.com".into()),
        source: Set(Some("landing".into())),
        referral_code: Set(Some("ALICE10".into())),
        status: Set("waiting".into()),
        invited_at: Set(None),
        metadata: Set(json!({"utm": "launch"})),
        created_at: Set(tstz()),
        ..Default::default()
    }
    .insert(&db)
    .await
    .unwrap();
    let found = waitlist_entries::Entity::find()
        .filter(waitlist_entries::Column::Email.eq("carol@example.com"))
        .one(&db)
        .await
        .unwrap();
    assert_eq!(found, Some(entry.clone()));
    let mut shouting = entry.into_active_model();
    shouting.id = sea_orm::Set(Uuid::new_v4());
    shouting.email = sea_orm::Set("Carol@Example.com".into());
    refused(
        shouting.insert(&db).await,
        CHECK_VIOLATION,
        "waitlist_entries_email_lowercase_check",
        "emails are stored lower-case",
    );
    // Columns the entities always fill are NOT NULL in the schema too.
    refused(
        db.execute_unprepared("insert into waitlist_entries (id) values (gen_random_uuid())")
            .await,
        NOT_NULL_VIOLATION,
        "",
        "a waitlist entry without an email",
    );

    let item = roadmap_items::ActiveModel {
        id: Set(Uuid::new_v4()),
        created_by: Set(Some(alice.id.clone())),
        title: Set("Dark mode".into()),
        description: Set(None),
        category: Set(Some("ui".into())),
        status: Set(RoadmapStatus::Planned),
        vote_score: Set(1),
        shipped_at: Set(None),
        created_at: Set(tstz()),
        updated_at: Set(tstz()),
        ..Default::default()
    }
    .insert(&db)
    .await
    .unwrap();
    assert_eq!(
        roadmap_items::Entity::find_by_id(item.id)
            .one(&db)
            .await
            .unwrap(),
        Some(item.clone())
    );

    let vote = roadmap_votes::ActiveModel {
        item_id: Set(item.id),
        user_id: Set(bob.id.clone()),
        value: Set(1),
        created_at: Set(tstz()),
        ..Default::default()
    }
    .insert(&db)
    .await
    .unwrap();
    assert_eq!(
        roadmap_votes::Entity::find_by_id((item.id, bob.id.clone()))
            .one(&db)
            .await
            .unwrap(),
        Some(vote.clone())
    );
    assert_eq!(
        item.find_related(roadmap_votes::Entity)
            .all(&db)
            .await
            .unwrap(),
        vec![vote.clone()]
    );
    refused(
        vote.clone().into_active_model().insert(&db).await,
        UNIQUE_VIOLATION,
        "roadmap_votes_item_id_user_id_pk",
        "one vote per user per item",
    );
    // Enum columns accept only their labels.
    refused(
        db.execute_unprepared("update roadmap_items set status = 'someday'")
            .await,
        INVALID_TEXT_REPRESENTATION,
        "",
        "a roadmap status outside the enum",
    );
}

#[tokio::test]
async fn platform_entities_round_trip() {
    let (db, _url) = common::migrated_db().await;
    let alice = user(&db, "usr_alice").await;
    let acme = organization(&db, "org_acme").await;

    let endpoint = webhook_endpoints::ActiveModel {
        id: Set(Uuid::new_v4()),
        organization_id: Set(acme.id.clone()),
        url: Set("https://hooks.example.com/in".into()),
        description: Set(None),
        secret: Set("whsec_x".into()),
        events: Set(json!(["member.created"])),
        enabled: Set(true),
        consecutive_failures: Set(0),
        disabled_at: Set(None),
        created_at: Set(tstz()),
        updated_at: Set(tstz()),
        ..Default::default()
    }
    .insert(&db)
    .await
    .unwrap();
    assert_eq!(
        webhook_endpoints::Entity::find_by_id(endpoint.id)
            .one(&db)
            .await
            .unwrap(),
        Some(endpoint.clone())
    );

    let delivery = webhook_deliveries::ActiveModel {
        endpoint_id: Set(endpoint.id),
        organization_id: Set(acme.id.clone()),
        event_type: Set("member.created".into()),
        payload: Set(json!({"id": "mem_1"})),
        status: Set(WebhookDeliveryStatus::Pending),
        attempt: Set(1),
        response_status: Set(Some(503)),
        response_body: Set(Some("unavailable".into())),
        next_attempt_at: Set(Some(tstz())),
        delivered_at: Set(None),
        created_at: Set(tstz()),
        ..Default::default()
    };
    let delivery = delivery.insert(&db).await.unwrap();
    assert_eq!(
        webhook_deliveries::Entity::find_by_id(delivery.id)
            .one(&db)
            .await
            .unwrap(),
        Some(delivery.clone())
    );
    assert_eq!(
        delivery
            .find_related(webhook_endpoints::Entity)
            .one(&db)
            .await
            .unwrap(),
        Some(endpoint)
    );

    let announcement = announcements::ActiveModel {
        id: Set(Uuid::new_v4()),
        organization_id: Set(None),
        created_by: Set(Some(alice.id.clone())),
        title: Set("Maintenance".into()),
        body: Set("Sunday 02:00 UTC".into()),
        level: Set("warning".into()),
        starts_at: Set(tstz()),
        ends_at: Set(None),
        created_at: Set(tstz()),
        ..Default::default()
    }
    .insert(&db)
    .await
    .unwrap();
    assert_eq!(
        announcements::Entity::find_by_id(announcement.id)
            .one(&db)
            .await
            .unwrap(),
        Some(announcement.clone())
    );
    assert_eq!(
        alice
            .find_related(announcements::Entity)
            .all(&db)
            .await
            .unwrap(),
        vec![announcement]
    );

    let flag = |organization_id: Option<&str>| feature_flags::ActiveModel {
        id: Set(Uuid::new_v4()),
        organization_id: Set(organization_id.map(Into::into)),
        key: Set("rag.hybrid_search".into()),
        enabled: Set(true),
        rollout_percentage: Set(50),
        description: Set(None),
        metadata: Set(json!({})),
        created_at: Set(tstz()),
        updated_at: Set(tstz()),
        ..Default::default()
    };
    let global = flag(None).insert(&db).await.unwrap();
    let overridden = flag(Some("org_acme")).insert(&db).await.unwrap();
    assert_eq!(
        feature_flags::Entity::find_by_id(global.id)
            .one(&db)
            .await
            .unwrap(),
        Some(global)
    );
    assert_eq!(
        acme.find_related(feature_flags::Entity)
            .all(&db)
            .await
            .unwrap(),
        vec![overridden]
    );
    // NULLS NOT DISTINCT: a second *global* flag with the same key is a duplicate too.
    refused(
        flag(None).insert(&db).await,
        UNIQUE_VIOLATION,
        "feature_flags_organization_id_key_unique",
        "a second global flag with the same key",
    );
    refused(
        flag(Some("org_acme")).insert(&db).await,
        UNIQUE_VIOLATION,
        "feature_flags_organization_id_key_unique",
        "a second flag override for the same organization and key",
    );

    let entry = audit_log::ActiveModel {
        organization_id: Set(Some(acme.id.clone())),
        actor_user_id: Set(Some(alice.id.clone())),
        action: Set("member.role_changed".into()),
        target_type: Set(Some("member".into())),
        target_id: Set(Some("mem_1".into())),
        ip_address: Set(Some("203.0.113.7".into())),
        user_agent: Set(None),
        metadata: Set(json!({"from": "member", "to": "admin"})),
        created_at: Set(tstz()),
        ..Default::default()
    };
    let entry = entry.insert(&db).await.unwrap();
    assert_eq!(
        audit_log::Entity::find_by_id(entry.id)
            .one(&db)
            .await
            .unwrap(),
        Some(entry.clone())
    );
    assert_eq!(
        entry
            .find_related(organization::Entity)
            .one(&db)
            .await
            .unwrap(),
        Some(acme)
    );

    let day = saas_metrics_daily::ActiveModel {
        day: Set(NaiveDate::from_ymd_opt(2026, 1, 14).expect("valid date")),
        mrr_cents: Set(1_234_500),
        signups: Set(12),
        active_users: Set(340),
        active_organizations: Set(41),
        new_organizations: Set(3),
        churned_organizations: Set(1),
        trialing_subscriptions: Set(6),
        paying_subscriptions: Set(35),
        ai_tokens: Set(9_000_000),
        ai_credits_used: Set(88_000),
        computed_at: Set(tstz()),
        ..Default::default()
    }
    .insert(&db)
    .await
    .unwrap();
    assert_eq!(
        saas_metrics_daily::Entity::find_by_id(day.day)
            .one(&db)
            .await
            .unwrap(),
        Some(day)
    );
}

#[tokio::test]
async fn on_delete_rules_hold() {
    let (db, _url) = common::migrated_db().await;
    let alice = user(&db, "usr_alice").await;
    let acme = organization(&db, "org_acme").await;
    member(&db, "org_acme", "usr_alice").await;
    let source = source(&db, "org_acme", Some("usr_alice")).await;
    chunk(&db, &source, 0).await;
    let entry = audit_log::ActiveModel {
        organization_id: Set(Some(acme.id.clone())),
        actor_user_id: Set(Some(alice.id.clone())),
        action: Set("organization.deleted".into()),
        target_type: Set(None),
        target_id: Set(None),
        ip_address: Set(None),
        user_agent: Set(None),
        metadata: Set(json!({})),
        created_at: Set(tstz()),
        ..Default::default()
    };
    let entry = entry.insert(&db).await.unwrap();

    // Deleting a user keeps the documents they uploaded (SET NULL) and the audit trail.
    alice.clone().delete(&db).await.unwrap();
    let source_after = document_source::Entity::find_by_id(source.id)
        .one(&db)
        .await
        .unwrap();
    assert_eq!(source_after.and_then(|s| s.created_by), None);
    assert_eq!(
        member::Entity::find().all(&db).await.unwrap(),
        Vec::<member::Model>::new(),
        "memberships cascade"
    );

    // A subscription blocks deleting its organization (RESTRICT)...
    let subscription = subscription::ActiveModel {
        id: Set(Uuid::new_v4()),
        organization_id: Set(acme.id.clone()),
        plan: Set("pro".into()),
        status: Set(SubscriptionStatus::Canceled),
        stripe_customer_id: Set(None),
        stripe_subscription_id: Set(None),
        seats: Set(1),
        trial_ends_at: Set(None),
        current_period_start: Set(None),
        current_period_end: Set(None),
        cancel_at_period_end: Set(false),
        canceled_at: Set(Some(tstz())),
        metadata: Set(json!({})),
        created_at: Set(tstz()),
        updated_at: Set(tstz()),
        monthly_ai_credits: Set(0),
        ..Default::default()
    }
    .insert(&db)
    .await
    .unwrap();
    refused(
        acme.clone().delete(&db).await,
        FOREIGN_KEY_VIOLATION,
        "subscription_organization_id_organization_id_fk",
        "RESTRICT on subscription",
    );

    // ...and once it is gone, the tenant's RAG data cascades while the audit trail stays.
    subscription.delete(&db).await.unwrap();
    acme.delete(&db).await.unwrap();
    assert_eq!(
        document_chunk::Entity::find().all(&db).await.unwrap(),
        Vec::<document_chunk::Model>::new()
    );
    assert_eq!(
        document_source::Entity::find().all(&db).await.unwrap(),
        Vec::<document_source::Model>::new()
    );
    let entry_after = audit_log::Entity::find_by_id(entry.id)
        .one(&db)
        .await
        .unwrap()
        .expect("kept");
    assert_eq!(
        (entry_after.organization_id, entry_after.actor_user_id),
        (None, None)
    );
}
