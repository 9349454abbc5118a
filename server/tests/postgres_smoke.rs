//! One end-to-end pass on PostgreSQL: a real server (`DATABASE_URL=postgres://…`) serves sign-up,
//! pad creation and co-editing over the pad socket, and a second server on the same database
//! loads the document back from the log. Every other HTTP and WebSocket suite runs on SQLite.

mod collab_support;
mod common;

use std::time::Duration;

use collab_support::{connect, Http};
use common::postgres::TempPostgres;
use common::TestApp;

#[tokio::test]
async fn a_server_on_postgres_serves_a_pad_and_a_second_server_reloads_it() {
    let url = TempPostgres::shared().create_database().await;
    let secret = "postgres-smoke-test-secret-of-at-least-32-bytes";
    let vars = [("DATABASE_URL", url.as_str()), ("JWT_SECRET", secret)];
    let app = TestApp::spawn_with(&vars).await;
    assert_eq!(app.state.db.backend(), opencoder::db::Backend::Postgres);
    let http = Http::new(&app.base);
    let (_, owner) = http.signup("Owner").await;
    let (_, other) = http.signup("Other").await;
    let pad = http.create_pad(&owner).await;
    http.add_member(&owner, &pad, &other, "collaborator").await;

    let mut a = connect(&app.base, &pad.slug, &owner).await;
    let mut b = connect(&app.base, &pad.slug, &other).await;
    a.synced().await;
    b.synced().await;
    for i in 0..20 {
        a.insert(&pad.file, 0, &format!("a{i} ")).await;
        b.append(&pad.file, &format!(" b{i}")).await;
    }
    b.drain(Duration::from_millis(300)).await;
    let expected = b.text(&pad.file);
    assert!(
        a.until(Duration::from_secs(5), |p| p.text(&pad.file) == expected)
            .await,
        "the peers did not converge"
    );
    for i in 0..20 {
        assert!(
            expected.contains(&format!("a{i} ")) && expected.contains(&format!(" b{i}")),
            "{expected:?}"
        );
    }
    app.state.docs.flush_log().await;

    // A second server on the same database has nothing in memory: it loads the log.
    let second = TestApp::spawn_with(&vars).await;
    assert_eq!(
        Http::new(&second.base)
            .file_text(&other, &pad, pad.file_id)
            .await,
        expected
    );
    let mut c = connect(&second.base, &pad.slug, &owner).await;
    c.synced().await;
    assert_eq!(c.text(&pad.file), expected);
}
