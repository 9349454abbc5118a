//! Single sign-on's store on both backends (the flows over HTTP run on SQLite): a pending
//! sign-in is taken once and swept once stale; a first sign-in's account and link are made
//! together, and a second one for the same identity makes nothing; an identity links to one
//! account only.

mod common;

use chrono::{Duration, Utc};
use opencoder::auth::oidc::store::{self, NewLogin};
use opencoder::db::Db;

use common::postgres::TempPostgres;

const ISSUER: &str = "https://id.example.com";

fn at(offset_secs: i64) -> String {
    (Utc::now() + Duration::seconds(offset_secs))
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn login<'a>(binding_hash: &'a str, expires_at: &'a str) -> NewLogin<'a> {
    NewLogin {
        binding_hash,
        state: "state-1",
        nonce: "nonce-1",
        pkce_verifier: "verifier-1",
        link_user_id: None,
        invite: Some("invite-1"),
        expires_at,
    }
}

async fn named(db: &Db, name: &str) -> usize {
    opencoder::admin::store::users_named(db, name)
        .await
        .unwrap()
        .len()
}

async fn body(db: Db) {
    // Taken once, whatever happens next.
    let later = at(600);
    store::insert_login(&db, login("b1", &later), &at(-300))
        .await
        .unwrap();
    let taken = store::take_login(&db, "b1")
        .await
        .unwrap()
        .expect("pending");
    assert_eq!(
        (taken.state.as_str(), taken.nonce.as_str()),
        ("state-1", "nonce-1")
    );
    assert_eq!(taken.pkce_verifier, "verifier-1");
    assert_eq!(taken.invite.as_deref(), Some("invite-1"));
    assert!(store::take_login(&db, "b1").await.unwrap().is_none());

    // Expired but recent: still there (its callback is told it expired); stale: swept.
    let recent = at(-10);
    let stale = at(-3600);
    store::insert_login(&db, login("recent", &recent), &at(-300))
        .await
        .unwrap();
    store::insert_login(&db, login("stale", &stale), &at(-300))
        .await
        .unwrap();
    store::insert_login(&db, login("b2", &later), &at(-300))
        .await
        .unwrap();
    assert!(store::take_login(&db, "stale").await.unwrap().is_none());
    let kept = store::take_login(&db, "recent")
        .await
        .unwrap()
        .expect("recent");
    assert_eq!(kept.expires_at, recent);

    // A first sign-in: account and link together; a second for the same identity makes nothing.
    let ada = store::create_linked_user(&db, ISSUER, "sub-ada", "Ada", &"a".repeat(64))
        .await
        .unwrap()
        .expect("created");
    assert_eq!(named(&db, "Ada").await, 1);
    let again = store::create_linked_user(&db, ISSUER, "sub-ada", "Ada 2", &"b".repeat(64))
        .await
        .unwrap();
    assert!(again.is_none());
    assert_eq!(
        named(&db, "Ada 2").await,
        0,
        "the losing account is rolled back"
    );
    let found = store::user_of_identity(&db, ISSUER, "sub-ada")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.id, ada.id);
    assert!(
        store::user_of_identity(&db, "https://other.example.com", "sub-ada")
            .await
            .unwrap()
            .is_none()
    );

    // An identity links to one account only.
    let bob = opencoder::auth::store::create(&db, "Bob", &"c".repeat(64))
        .await
        .unwrap();
    assert!(!store::link(&db, ISSUER, "sub-ada", bob.id).await.unwrap());
    assert!(store::link(&db, ISSUER, "sub-bob", bob.id).await.unwrap());
    let linked = store::user_of_identity(&db, ISSUER, "sub-bob")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(linked.id, bob.id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sso_store_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::connect(&format!("sqlite://{}", dir.path().join("sso.db").display()))
        .await
        .unwrap();
    db.migrate().await.unwrap();
    body(db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sso_store_on_postgres() {
    let db = Db::connect(&TempPostgres::shared().create_database().await)
        .await
        .unwrap();
    db.migrate().await.unwrap();
    body(db).await;
}
