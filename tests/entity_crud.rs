//! A round trip through every entity against the migrated schema: insert, read back, and one
//! relation query each. Also checks the ON DELETE rules the schema chose.

mod common;

use app_db::sea_orm_active_enums::*;
use app_db::*;
use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime};
use sea_orm::EntityLoaderTrait;
use sea_orm::prelude::PgVector;
use sea_orm::{
    ActiveModelTrait, ActiveValue::NotSet, ColumnTrait, ConnectionTrait, DatabaseConnection,
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
    user::Model {
        id: id.into(),
        name: format!("User {id}"),
        email: format!("{id}@example.com"),
        email_verified: true,
        image: None,
        created_at: ts(),
        updated_at: ts(),
    }
    .into_active_model()
    .insert(db)
    .await
    .expect("insert user")
}

async fn organization(db: &DatabaseConnection, id: &str) -> organization::Model {
    organization::Model {
        id: id.into(),
        name: format!("Org {id}"),
        slug: id.replace('_', "-"),
        logo: Some("https://cdn.example.com/logo.png".into()),
        created_at: ts(),
        metadata: Some(r#"{"plan":"pro"}"#.into()),
    }
    .into_active_model()
    .insert(db)
    .await
    .expect("insert organization")
}

async fn member(db: &DatabaseConnection, org: &str, user: &str) -> member::Model {
    member::Model {
        id: format!("mem_{org}_{user}"),
        organization_id: org.into(),
        user_id: user.into(),
        role: "owner".into(),
        created_at: ts(),
    }
    .into_active_model()
    .insert(db)
    .await
    .expect("insert member")
}

async fn source(
    db: &DatabaseConnection,
    org: &str,
    creator: Option<&str>,
) -> document_source::Model {
    document_source::Model {
        id: Uuid::new_v4(),
        organization_id: org.into(),
        created_by: creator.map(Into::into),
        kind: "upload".into(),
        title: "Handbook.pdf".into(),
        uri: Some("s3://bucket/handbook.pdf".into()),
        mime_type: Some("application/pdf".into()),
        content_hash: Some("sha256:abc".into()),
        byte_size: Some(1024),
        status: DocumentSourceStatus::Ready,
        error: None,
        chunk_count: 1,
        metadata: json!({"pages": 3}),
        created_at: tstz(),
        updated_at: tstz(),
    }
    .into_active_model()
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
    document_chunk::Model {
        id: Uuid::new_v4(),
        organization_id: source.organization_id.clone(),
        source_id: source.id,
        chunk_index: index,
        content: format!("chunk {index}"),
        token_count: 42,
        embedding: embedding(index as f32),
        metadata: json!({"page": 1}),
        created_at: tstz(),
    }
    .into_active_model()
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

    let session = session::Model {
        id: "ses_1".into(),
        expires_at: ts(),
        token: "tok_1".into(),
        created_at: ts(),
        updated_at: ts(),
        ip_address: Some("203.0.113.7".into()),
        user_agent: Some("test".into()),
        user_id: alice.id.clone(),
        active_organization_id: None,
    }
    .into_active_model()
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

    let account = account::Model {
        id: "acc_1".into(),
        account_id: "alice".into(),
        provider_id: "credential".into(),
        user_id: alice.id.clone(),
        access_token: None,
        refresh_token: None,
        id_token: None,
        access_token_expires_at: None,
        refresh_token_expires_at: Some(ts()),
        scope: None,
        password: Some("$argon2id$...".into()),
        created_at: ts(),
        updated_at: ts(),
    }
    .into_active_model()
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

    let verification = verification::Model {
        id: "ver_1".into(),
        identifier: "alice@example.com".into(),
        value: "123456".into(),
        expires_at: ts(),
        created_at: ts(),
        updated_at: ts(),
    }
    .into_active_model()
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

    let invitation = invitation::Model {
        id: "inv_1".into(),
        organization_id: acme.id.clone(),
        email: "bob@example.com".into(),
        role: Some("member".into()),
        status: "pending".into(),
        expires_at: ts(),
        created_at: ts(),
        inviter_id: alice.id.clone(),
    }
    .into_active_model()
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

    let subscription = subscription::Model {
        id: Uuid::new_v4(),
        organization_id: acme.id.clone(),
        plan: "pro".into(),
        status: SubscriptionStatus::Trialing,
        stripe_customer_id: Some("cus_123".into()),
        stripe_subscription_id: Some("sub_123".into()),
        seats: 5,
        trial_ends_at: Some(tstz()),
        current_period_start: None,
        current_period_end: None,
        cancel_at_period_end: false,
        canceled_at: None,
        metadata: json!({"coupon": null}),
        created_at: tstz(),
        updated_at: tstz(),
        monthly_ai_credits: 10_000,
    }
    .into_active_model()
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

    let mut usage = ai_usage::Model {
        id: 0,
        organization_id: acme.id.clone(),
        user_id: Some(alice.id.clone()),
        model: "gpt-4.1-mini".into(),
        feature: Some("chat".into()),
        input_tokens: 1200,
        output_tokens: 300,
        credits_used: 15,
        cost_micro_usd: 840,
        request_id: Some("req_1".into()),
        metadata: json!({}),
        created_at: tstz(),
    }
    .into_active_model();
    usage.id = NotSet; // bigserial
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

    let credits = org_credits::Model {
        organization_id: acme.id.clone(),
        balance: 9_985,
        lifetime_granted: 10_000,
        monthly_allowance: 10_000,
        period_resets_at: Some(tstz()),
        updated_at: tstz(),
    }
    .into_active_model()
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

    let referral = referrals::Model {
        id: Uuid::new_v4(),
        referrer_user_id: alice.id.clone(),
        referred_user_id: Some(bob.id.clone()),
        code: "ALICE10".into(),
        referred_email: Some(bob.email.clone()),
        status: ReferralStatus::SignedUp,
        reward_credits: 500,
        converted_at: None,
        created_at: tstz(),
    }
    .into_active_model()
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

    let entry = waitlist_entries::Model {
        id: Uuid::new_v4(),
        email: "carol@example.com".into(),
        source: Some("landing".into()),
        referral_code: Some("ALICE10".into()),
        status: "waiting".into(),
        invited_at: None,
        metadata: json!({"utm": "launch"}),
        created_at: tstz(),
    }
    .into_active_model()
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

    let item = roadmap_items::Model {
        id: Uuid::new_v4(),
        created_by: Some(alice.id.clone()),
        title: "Dark mode".into(),
        description: None,
        category: Some("ui".into()),
        status: RoadmapStatus::Planned,
        vote_score: 1,
        shipped_at: None,
        created_at: tstz(),
        updated_at: tstz(),
    }
    .into_active_model()
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

    let vote = roadmap_votes::Model {
        item_id: item.id,
        user_id: bob.id.clone(),
        value: 1,
        created_at: tstz(),
    };
    let vote = vote.into_active_model().insert(&db).await.unwrap();
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

    let endpoint = webhook_endpoints::Model {
        id: Uuid::new_v4(),
        organization_id: acme.id.clone(),
        url: "https://hooks.example.com/in".into(),
        description: None,
        secret: "whsec_x".into(),
        events: json!(["member.created"]),
        enabled: true,
        consecutive_failures: 0,
        disabled_at: None,
        created_at: tstz(),
        updated_at: tstz(),
    }
    .into_active_model()
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

    let mut delivery = webhook_deliveries::Model {
        id: 0,
        endpoint_id: endpoint.id,
        organization_id: acme.id.clone(),
        event_type: "member.created".into(),
        payload: json!({"id": "mem_1"}),
        status: WebhookDeliveryStatus::Pending,
        attempt: 1,
        response_status: Some(503),
        response_body: Some("unavailable".into()),
        next_attempt_at: Some(tstz()),
        delivered_at: None,
        created_at: tstz(),
    }
    .into_active_model();
    delivery.id = NotSet;
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

    let announcement = announcements::Model {
        id: Uuid::new_v4(),
        organization_id: None,
        created_by: Some(alice.id.clone()),
        title: "Maintenance".into(),
        body: "Sunday 02:00 UTC".into(),
        level: "warning".into(),
        starts_at: tstz(),
        ends_at: None,
        created_at: tstz(),
    }
    .into_active_model()
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

    let flag = |organization_id: Option<&str>| feature_flags::Model {
        id: Uuid::new_v4(),
        organization_id: organization_id.map(Into::into),
        key: "rag.hybrid_search".into(),
        enabled: true,
        rollout_percentage: 50,
        description: None,
        metadata: json!({}),
        created_at: tstz(),
        updated_at: tstz(),
    };
    let global = flag(None).into_active_model().insert(&db).await.unwrap();
    let overridden = flag(Some("org_acme"))
        .into_active_model()
        .insert(&db)
        .await
        .unwrap();
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
        flag(None).into_active_model().insert(&db).await,
        UNIQUE_VIOLATION,
        "feature_flags_organization_id_key_unique",
        "a second global flag with the same key",
    );
    refused(
        flag(Some("org_acme")).into_active_model().insert(&db).await,
        UNIQUE_VIOLATION,
        "feature_flags_organization_id_key_unique",
        "a second flag override for the same organization and key",
    );

    let mut entry = audit_log::Model {
        id: 0,
        organization_id: Some(acme.id.clone()),
        actor_user_id: Some(alice.id.clone()),
        action: "member.role_changed".into(),
        target_type: Some("member".into()),
        target_id: Some("mem_1".into()),
        ip_address: Some("203.0.113.7".into()),
        user_agent: None,
        metadata: json!({"from": "member", "to": "admin"}),
        created_at: tstz(),
    }
    .into_active_model();
    entry.id = NotSet;
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

    let day = saas_metrics_daily::Model {
        day: NaiveDate::from_ymd_opt(2026, 1, 14).expect("valid date"),
        mrr_cents: 1_234_500,
        signups: 12,
        active_users: 340,
        active_organizations: 41,
        new_organizations: 3,
        churned_organizations: 1,
        trialing_subscriptions: 6,
        paying_subscriptions: 35,
        ai_tokens: 9_000_000,
        ai_credits_used: 88_000,
        computed_at: tstz(),
    }
    .into_active_model()
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
    let mut entry = audit_log::Model {
        id: 0,
        organization_id: Some(acme.id.clone()),
        actor_user_id: Some(alice.id.clone()),
        action: "organization.deleted".into(),
        target_type: None,
        target_id: None,
        ip_address: None,
        user_agent: None,
        metadata: json!({}),
        created_at: tstz(),
    }
    .into_active_model();
    entry.id = NotSet;
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
    let subscription = subscription::Model {
        id: Uuid::new_v4(),
        organization_id: acme.id.clone(),
        plan: "pro".into(),
        status: SubscriptionStatus::Canceled,
        stripe_customer_id: None,
        stripe_subscription_id: None,
        seats: 1,
        trial_ends_at: None,
        current_period_start: None,
        current_period_end: None,
        cancel_at_period_end: false,
        canceled_at: Some(tstz()),
        metadata: json!({}),
        created_at: tstz(),
        updated_at: tstz(),
        monthly_ai_credits: 0,
    }
    .into_active_model()
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
