//! The store modules on both backends: every body below runs once against a fresh SQLite file and
//! once against a fresh database on a throwaway PostgreSQL server (`common::postgres`). Bodies
//! that need two nodes open two pools on the same database.

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::body::Bytes;

use chrono::{Duration as ChronoDuration, Utc};
use opencoder::audit::{Actor, AuditAction, AuditEvent, AuditLog};
use opencoder::cluster::store::{self as lease_store, Fence, FencedError};
use opencoder::collab::persist::Persist;
use opencoder::collab::store::{self as collab_store, LogWrite};
use opencoder::db::{Db, PadId, UserId};
use opencoder::interviews::questions::store::{
    CreateOutcome, Filter, QuestionFields, ShareOutcome, StarterFile,
};
use opencoder::interviews::store as interview_store;
use opencoder::interviews::takehomes::store::{NewAttempt, NewTakehome};
use opencoder::interviews::test_cases::run::CaseResult;
use opencoder::interviews::test_cases::signature::Signature;
use opencoder::interviews::test_cases::{CaseKind, Compare, TestCase};
use opencoder::interviews::{questions, takehomes, test_cases};
use opencoder::metrics::PersistMetrics;
use opencoder::pads::files_store::{self, DeleteOutcome, NewFile};
use opencoder::pads::invites_store::{self, AcceptOutcome, Liveness, NewInvite};
use opencoder::pads::roles::Role;
use opencoder::pads::store::{self as pad_store, GrantOutcome, NewPad};
use opencoder::recordings::store as rec_store;

use common::postgres::TempPostgres;

/// A fresh, migrated database of one backend, and a way to open more pools on it.
struct Fixture {
    url: String,
    db: Db,
    _dir: Option<tempfile::TempDir>,
}

impl Fixture {
    async fn sqlite() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("stores.db").display());
        let db = Db::connect(&url).await.unwrap();
        db.migrate().await.unwrap();
        Fixture {
            url,
            db,
            _dir: Some(dir),
        }
    }

    async fn postgres() -> Fixture {
        let url = TempPostgres::shared().create_database().await;
        let db = Db::connect(&url).await.unwrap();
        db.migrate().await.unwrap();
        Fixture {
            url,
            db,
            _dir: None,
        }
    }

    /// Another node's pool on the same database.
    async fn second_pool(&self) -> Db {
        Db::connect(&self.url).await.unwrap()
    }
}

/// `name::sqlite` and `name::postgres`, both running `body(fixture)`.
macro_rules! on_both_backends {
    ($($name:ident => $body:ident;)*) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                super::$body(super::Fixture::sqlite().await).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                super::$body(super::Fixture::postgres().await).await;
            }
        }
    )*};
}

on_both_backends! {
    users_and_sessions => users_and_sessions;
    pads_members_and_roles => pads_members_and_roles;
    files => files;
    invites => invites;
    doc_log_and_checkpoints => doc_log_and_checkpoints;
    doc_log_ids_are_commit_ordered_across_nodes => doc_log_ids_are_commit_ordered_across_nodes;
    the_log_writer_counts_its_own_commits_into_a_checkpoint => the_log_writer_counts_its_own_commits_into_a_checkpoint;
    chat => chat;
    chat_ids_are_commit_ordered_across_nodes => chat_ids_are_commit_ordered_across_nodes;
    runs_and_recordings => runs_and_recordings;
    audit_chain_with_two_nodes => audit_chain_with_two_nodes;
    questions_and_interviews => questions_and_interviews;
    takehomes_submit_and_grade_once => takehomes_submit_and_grade_once;
    pad_leases_acquire_renew_and_take_over_after_expiry => pad_leases_acquire_renew_and_take_over_after_expiry;
    a_stale_epoch_cannot_write_what_only_the_owner_may => a_stale_epoch_cannot_write_what_only_the_owner_may;
    two_nodes_racing_for_one_lease_exactly_one_wins => two_nodes_racing_for_one_lease_exactly_one_wins;
    admin_flags_listings_and_settings => admin_flags_listings_and_settings;
}

/// A member cap no test body reaches.
const ROOMY: usize = 1_000;

async fn user(db: &Db, name: &str) -> UserId {
    opencoder::auth::store::create(db, name, &format!("hash-of-{name}"))
        .await
        .unwrap()
        .id
}

async fn pad(db: &Db, owner: UserId, slug: &str) -> PadId {
    let files = [NewFile {
        name: "main.py".into(),
        language: "python".into(),
    }];
    let new = NewPad {
        slug,
        title: "T",
        language: "python",
        kind: "sandbox",
        owner,
    };
    pad_store::create_with_files(db, &new, &files)
        .await
        .unwrap()
        .0
        .id
}

async fn users_and_sessions(f: Fixture) {
    let db = &f.db;
    let ada = opencoder::auth::store::create(db, "Ada", "h1")
        .await
        .unwrap();
    assert_eq!((ada.name.as_str(), ada.session_epoch), ("Ada", 0));
    let dup = opencoder::auth::store::create(db, "Other", "h1")
        .await
        .unwrap_err();
    assert!(
        matches!(&dup, sqlx::Error::Database(e) if e.is_unique_violation()),
        "{dup}"
    );
    assert_eq!(
        opencoder::auth::store::find_by_recovery_hash(db, "h1")
            .await
            .unwrap()
            .unwrap()
            .id,
        ada.id
    );
    assert_eq!(
        opencoder::auth::store::rename(db, ada.id, "Ada L")
            .await
            .unwrap()
            .unwrap()
            .name,
        "Ada L"
    );
    assert_eq!(
        opencoder::auth::store::bump_epoch(db, ada.id)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        opencoder::auth::store::bump_epoch(db, ada.id)
            .await
            .unwrap(),
        2
    );
    opencoder::auth::store::set_recovery_hash(db, ada.id, "h2")
        .await
        .unwrap();
    assert!(opencoder::auth::store::find_by_recovery_hash(db, "h1")
        .await
        .unwrap()
        .is_none());
    let owned = pad(db, ada.id, "owned").await;
    opencoder::auth::store::delete(db, ada.id).await.unwrap();
    assert!(opencoder::auth::store::find(db, ada.id)
        .await
        .unwrap()
        .is_none());
    assert!(
        pad_store::find(db, owned).await.unwrap().is_none(),
        "owned pads go with the account"
    );
}

async fn pads_members_and_roles(f: Fixture) {
    let db = &f.db;
    let (owner, bob) = (user(db, "Owner").await, user(db, "Bob").await);
    let id = pad(db, owner, "p1").await;
    let (found, role) = pad_store::find_with_role(db, "p1", owner)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (found.id, role, found.has_password),
        (id, Some(Role::Owner), false)
    );
    assert_eq!(
        pad_store::find_with_role(db, "p1", bob)
            .await
            .unwrap()
            .unwrap()
            .1,
        None
    );
    let taken = pad_store::create_with_files(
        db,
        &NewPad {
            slug: "p1",
            title: "x",
            language: "python",
            kind: "sandbox",
            owner,
        },
        &[],
    )
    .await
    .unwrap_err();
    assert!(matches!(&taken, sqlx::Error::Database(e) if e.is_unique_violation()));

    // Grants only go up; the owner row is never touched.
    let granted = pad_store::grant_at_least(db, id, bob, Role::Viewer, ROOMY)
        .await
        .unwrap();
    assert!(
        matches!(granted, GrantOutcome::Granted(g) if g.previous.is_none() && g.current == Role::Viewer)
    );
    let up = pad_store::grant_at_least(db, id, bob, Role::Collaborator, ROOMY)
        .await
        .unwrap();
    assert!(matches!(up, GrantOutcome::Granted(g) if g.current == Role::Collaborator));
    let not_down = pad_store::grant_at_least(db, id, bob, Role::Viewer, ROOMY)
        .await
        .unwrap();
    assert!(
        matches!(not_down, GrantOutcome::Granted(g) if !g.changed() && g.current == Role::Collaborator)
    );
    assert_eq!(
        pad_store::change_role(db, id, owner, Role::Viewer)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        pad_store::change_role(db, id, bob, Role::Candidate)
            .await
            .unwrap(),
        Some(Role::Collaborator)
    );
    let members = pad_store::members(db, id).await.unwrap();
    assert_eq!(
        members.iter().map(|m| m.role.as_str()).collect::<Vec<_>>(),
        ["owner", "candidate"]
    );
    assert_eq!(pad_store::list_for_user(db, bob).await.unwrap().len(), 1);

    // A kick sticks until re-admitted.
    assert_eq!(
        pad_store::kick_member(db, id, bob, owner).await.unwrap(),
        Some(Role::Candidate)
    );
    assert!(pad_store::is_removed(db, id, bob).await.unwrap());
    assert_eq!(
        pad_store::grant_at_least(db, id, bob, Role::Viewer, ROOMY)
            .await
            .unwrap(),
        GrantOutcome::Removed
    );
    assert_eq!(pad_store::removals(db, id).await.unwrap().len(), 1);
    assert!(pad_store::readmit(db, id, bob).await.unwrap());
    assert!(!pad_store::is_removed(db, id, bob).await.unwrap());

    // A full pad admits no newcomer, but its members may still be upgraded. Joins racing on two
    // nodes never overshoot the cap.
    let full = pad(db, owner, "full").await;
    let cap = 4;
    let other = f.second_pool().await;
    let mut joins = Vec::new();
    for i in 0..9 {
        let db = if i % 2 == 0 {
            f.db.clone()
        } else {
            other.clone()
        };
        let joiner = user(&db, &format!("joiner{i}")).await;
        joins.push(tokio::spawn(async move {
            (
                joiner,
                pad_store::grant_at_least(&db, full, joiner, Role::Viewer, cap)
                    .await
                    .unwrap(),
            )
        }));
    }
    let outcomes: Vec<_> = futures_util::future::join_all(joins)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let admitted: Vec<UserId> = outcomes
        .iter()
        .filter(|(_, o)| matches!(o, GrantOutcome::Granted(_)))
        .map(|(u, _)| *u)
        .collect();
    assert_eq!(
        admitted.len(),
        cap - 1,
        "the owner and {} joiners fill a pad of {cap}",
        cap - 1
    );
    assert!(outcomes
        .iter()
        .all(|(_, o)| matches!(o, GrantOutcome::Granted(_) | GrantOutcome::Full)));
    assert_eq!(pad_store::members(db, full).await.unwrap().len(), cap);
    let upgraded = pad_store::grant_at_least(db, full, admitted[0], Role::Collaborator, cap)
        .await
        .unwrap();
    assert!(matches!(upgraded, GrantOutcome::Granted(g) if g.current == Role::Collaborator));

    // Passwords and updates.
    let with_password = pad_store::set_password(db, id, Some(("hash", Role::Viewer)))
        .await
        .unwrap()
        .unwrap();
    assert!(with_password.has_password);
    assert_eq!(
        pad_store::password(db, id).await.unwrap(),
        Some(("hash".to_string(), Role::Viewer))
    );
    let renamed = pad_store::update(db, id, Some("New"), None, Some("interview"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            renamed.title.as_str(),
            renamed.language.as_str(),
            renamed.kind.as_str()
        ),
        ("New", "python", "interview")
    );
    assert!(pad_store::delete(db, id).await.unwrap());
    assert!(!pad_store::delete(db, id).await.unwrap());
}

async fn files(f: Fixture) {
    let db = &f.db;
    let owner = user(db, "Owner").await;
    let id = pad(db, owner, "files").await;
    let second = files_store::create(db, id, "b.py", "python", 3)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(second.sort_order, 1);
    let taken = files_store::create(db, id, "b.py", "python", 3)
        .await
        .unwrap_err();
    assert!(matches!(&taken, sqlx::Error::Database(e) if e.is_unique_violation()));
    files_store::create(db, id, "c.py", "python", 3)
        .await
        .unwrap()
        .unwrap();
    assert!(
        files_store::create(db, id, "d.py", "python", 3)
            .await
            .unwrap()
            .is_none(),
        "the cap holds"
    );
    let renamed = files_store::update(db, id, second.id, "renamed.py", "python")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(renamed.name, "renamed.py");
    let listed = files_store::list(db, id).await.unwrap();
    assert_eq!(
        listed.iter().map(|f| f.name.as_str()).collect::<Vec<_>>(),
        ["main.py", "renamed.py", "c.py"]
    );
    for file in &listed[1..] {
        assert!(matches!(
            files_store::delete_unless_last(db, id, file.id)
                .await
                .unwrap(),
            DeleteOutcome::Deleted(_)
        ));
    }
    assert!(matches!(
        files_store::delete_unless_last(db, id, listed[0].id)
            .await
            .unwrap(),
        DeleteOutcome::LastFile
    ));
    assert!(matches!(
        files_store::delete_unless_last(db, id, listed[1].id)
            .await
            .unwrap(),
        DeleteOutcome::NotFound
    ));
    assert_eq!(
        files_store::text_keys(db, id).await.unwrap(),
        files_store::TextKeys::ById
    );

    // Concurrent creates from two nodes never pass the cap.
    let other = f.second_pool().await;
    for round in 0..ROUNDS {
        let id = pad(db, owner, &format!("race{round}")).await;
        let racers = (0..RACERS).map(|i| {
            let db = if i % 2 == 0 {
                f.db.clone()
            } else {
                other.clone()
            };
            tokio::spawn(async move {
                files_store::create(&db, id, &format!("r{i}.py"), "python", 4)
                    .await
                    .unwrap()
            })
        });
        let created = futures_util::future::join_all(racers)
            .await
            .into_iter()
            .filter(|r| r.as_ref().unwrap().is_some())
            .count();
        assert_eq!(created, 3, "one file existed; the cap is 4");
        assert_eq!(files_store::list(db, id).await.unwrap().len(), 4);
    }
}

/// Rounds and racers of the tests that race two nodes.
const ROUNDS: usize = 10;
const RACERS: usize = 16;

async fn invites(f: Fixture) {
    let db = &f.db;
    let (owner, bob, cat) = (
        user(db, "Owner").await,
        user(db, "Bob").await,
        user(db, "Cat").await,
    );
    let id = pad(db, owner, "inv").await;
    let now = Utc::now();
    let new = |token: &'static str, max_uses| NewInvite {
        pad: id,
        token,
        role: Role::Collaborator,
        created_by: owner,
        created_at: now,
        expires_at: now + ChronoDuration::hours(1),
        max_uses,
    };
    let once = invites_store::create(db, &new("once", Some(1)))
        .await
        .unwrap();
    assert_eq!(
        invites_store::list_live(db, id, now).await.unwrap().len(),
        1
    );
    let accepted = invites_store::accept(db, "once", bob, now, ROOMY)
        .await
        .unwrap();
    assert!(matches!(accepted, AcceptOutcome::Accepted { invite, .. } if invite.uses == 1));
    assert!(matches!(
        invites_store::accept(db, "once", cat, now, ROOMY)
            .await
            .unwrap(),
        AcceptOutcome::Refused(Liveness::UsedUp)
    ));
    assert!(matches!(
        invites_store::accept(db, "once", cat, now + ChronoDuration::hours(2), ROOMY)
            .await
            .unwrap(),
        AcceptOutcome::Refused(Liveness::Expired)
    ));
    assert!(invites_store::revoke(db, id, once.id, now)
        .await
        .unwrap()
        .is_some());
    assert!(matches!(
        invites_store::accept(db, "once", cat, now, ROOMY)
            .await
            .unwrap(),
        AcceptOutcome::Refused(Liveness::Missing)
    ));
    assert!(invites_store::find_by_token(db, "once")
        .await
        .unwrap()
        .is_some());

    // Two nodes accepting a one-use invite for different users: exactly one wins.
    let other = f.second_pool().await;
    for round in 0..ROUNDS {
        let token: &'static str = Box::leak(format!("race{round}").into_boxed_str());
        invites_store::create(db, &new(token, Some(1)))
            .await
            .unwrap();
        let mut racers = Vec::new();
        for i in 0..RACERS {
            let db = if i % 2 == 0 {
                f.db.clone()
            } else {
                other.clone()
            };
            let racer = user(&db, &format!("racer{round}-{i}")).await;
            racers.push(tokio::spawn(async move {
                invites_store::accept(&db, token, racer, now, ROOMY)
                    .await
                    .unwrap()
            }));
        }
        let outcomes = futures_util::future::join_all(racers).await;
        let wins = outcomes
            .iter()
            .filter(|o| matches!(o.as_ref().unwrap(), AcceptOutcome::Accepted { .. }))
            .count();
        assert_eq!(wins, 1, "a one-use invite admitted {wins} users");
    }
}

async fn doc_log_and_checkpoints(f: Fixture) {
    let db = &f.db;
    let owner = user(db, "Owner").await;
    let id = pad(db, owner, "doc").await;
    let gone = pad(db, owner, "gone").await;
    pad_store::delete(db, gone).await.unwrap();
    let batch = [
        LogWrite::Update {
            pad: id,
            user: Some(owner),
            at_ms: 1,
            bytes: b"one",
        },
        LogWrite::Update {
            pad: gone,
            user: None,
            at_ms: 1,
            bytes: b"skipped",
        },
        LogWrite::Update {
            pad: id,
            user: None,
            at_ms: 2,
            bytes: b"three",
        },
    ];
    let places = collab_store::commit_log(db, &batch).await.unwrap();
    let [Some(one), None, Some(three)] = places[..] else {
        panic!("places {places:?}")
    };
    assert_eq!(
        (one.prev, three.prev),
        (0, one.id),
        "each update names the pad's update before it"
    );
    let batch = [
        LogWrite::Checkpoint {
            pad: id,
            held: three.id,
            state: b"state",
            state_vector: b"sv",
        },
        LogWrite::Update {
            pad: id,
            user: None,
            at_ms: 3,
            bytes: b"after",
        },
    ];
    let places = collab_store::commit_log(db, &batch).await.unwrap();
    assert_eq!(places[0], None);
    assert_eq!(
        places[1].map(|p| p.prev),
        Some(three.id),
        "the chain continues across batches"
    );
    let (upto, state) = collab_store::latest_checkpoint(db, id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (upto, state.as_slice()),
        (three.id, &b"state"[..]),
        "the checkpoint covers what its document held"
    );
    let tail: Vec<Vec<u8>> = collab_store::log_page(db, id, upto, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|(_, b)| b)
        .collect();
    assert_eq!(
        tail,
        [b"after".to_vec()],
        "a load replays everything after it"
    );
    assert_eq!(
        collab_store::log_page(db, id, 0, 2).await.unwrap().len(),
        2,
        "pages are bounded"
    );
    assert_eq!(
        collab_store::log_page(db, id, 0, 10).await.unwrap().len(),
        3
    );
    assert_eq!(
        collab_store::history_bytes(db, id).await.unwrap(),
        3 + 5 + 5
    );
    let report = rec_store::storage_report(db, id).await.unwrap();
    assert_eq!(
        (
            report.updates,
            report.update_bytes,
            report.engine_checkpoints
        ),
        (3, 13, 1)
    );
    assert_eq!(report.engine_checkpoint_bytes, 7);
    assert!(report.database_bytes_in_use > 0);
    // A checkpoint of a node that holds the log up to the batch's start and its own updates covers
    // them.
    let after = places[1].unwrap().id;
    let batch = [
        LogWrite::Update {
            pad: id,
            user: None,
            at_ms: 4,
            bytes: b"own",
        },
        LogWrite::Checkpoint {
            pad: id,
            held: after,
            state: b"s2",
            state_vector: b"sv",
        },
    ];
    let own = collab_store::commit_log(db, &batch).await.unwrap()[0]
        .unwrap()
        .id;
    assert_eq!(
        collab_store::latest_checkpoint(db, id)
            .await
            .unwrap()
            .unwrap()
            .0,
        own
    );
    // One whose document missed an update committed before the batch is dropped.
    let batch = [
        LogWrite::Update {
            pad: id,
            user: None,
            at_ms: 5,
            bytes: b"mine",
        },
        LogWrite::Checkpoint {
            pad: id,
            held: after,
            state: b"s3",
            state_vector: b"sv",
        },
    ];
    collab_store::commit_log(db, &batch).await.unwrap();
    assert_eq!(
        collab_store::latest_checkpoint(db, id)
            .await
            .unwrap()
            .unwrap(),
        (own, b"s2".to_vec())
    );
}

/// A document learns where its updates landed only after their batch commits, so a checkpoint it
/// queues meanwhile names an older `held`. The writer counts its own committed updates after that
/// in (a busy pad still gets checkpoints, and playback can seek from them), but never past an
/// update another node wrote.
async fn the_log_writer_counts_its_own_commits_into_a_checkpoint(f: Fixture) {
    let db = &f.db;
    let owner = user(db, "Owner").await;
    let id = pad(db, owner, "busy").await;
    // The document is never told where its updates landed, as if every commit were in flight.
    let writer = Persist::start(
        db.clone(),
        1 << 20,
        Arc::new(|_| {}),
        PersistMetrics::default(),
    );
    for text in ["a", "b", "c"] {
        writer.append(id, Some(owner), Bytes::from_static(text.as_bytes()));
    }
    writer.flush().await;
    writer.checkpoint(id, 0, b"abc".to_vec(), b"sv".to_vec());
    writer.flush().await;
    let newest = collab_store::log_page(db, id, 0, 10)
        .await
        .unwrap()
        .last()
        .unwrap()
        .0;
    assert_eq!(
        collab_store::latest_checkpoint(db, id).await.unwrap(),
        Some((newest, b"abc".to_vec())),
        "the checkpoint covers the writer's own committed updates"
    );
    // Another node writes the pad; this node's document has not received it.
    let other = f.second_pool().await;
    let foreign = [LogWrite::Update {
        pad: id,
        user: None,
        at_ms: 9,
        bytes: b"x",
    }];
    collab_store::commit_log(&other, &foreign).await.unwrap();
    writer.append(id, Some(owner), Bytes::from_static(b"d"));
    writer.flush().await;
    writer.checkpoint(id, newest, b"abcd".to_vec(), b"sv".to_vec());
    writer.flush().await;
    assert_eq!(
        collab_store::latest_checkpoint(db, id).await.unwrap(),
        Some((newest, b"abc".to_vec())),
        "a checkpoint missing another node's update is dropped"
    );
}

/// A reader that follows the log by id (loading a document, playback) must never miss an update:
/// within a pad, an update committed later has a higher id than every update seen before it.
async fn doc_log_ids_are_commit_ordered_across_nodes(f: Fixture) {
    const BATCHES: usize = 150;
    let owner = user(&f.db, "Owner").await;
    let id = pad(&f.db, owner, "ordered").await;
    let nodes = [f.db.clone(), f.second_pool().await, f.second_pool().await];
    let writers: Vec<_> = nodes
        .iter()
        .enumerate()
        .map(|(n, db)| {
            let db = db.clone();
            tokio::spawn(async move {
                let mut places = Vec::new();
                for i in 0..BATCHES {
                    let bytes = format!("{n}:{i}").into_bytes();
                    let more = format!("{n}:{i}+").into_bytes();
                    let batch = [
                        LogWrite::Update {
                            pad: id,
                            user: None,
                            at_ms: i as i64,
                            bytes: &bytes,
                        },
                        LogWrite::Update {
                            pad: id,
                            user: None,
                            at_ms: i as i64,
                            bytes: &more,
                        },
                    ];
                    places.extend(
                        collab_store::commit_log(&db, &batch)
                            .await
                            .unwrap()
                            .into_iter()
                            .flatten(),
                    );
                }
                places
            })
        })
        .collect();
    let reader = f.second_pool().await;
    let mut seen: BTreeSet<Vec<u8>> = BTreeSet::new();
    let mut after = 0i64;
    let mut missed = Vec::new();
    let mut places = Vec::new();
    loop {
        let done = writers.iter().all(|w| w.is_finished());
        let rows = rec_store::edits_page(&reader, id, after, i64::MAX, 0, i64::MAX, 10_000)
            .await
            .unwrap();
        for row in rows {
            after = row.id;
            seen.insert(row.update_bytes);
        }
        if done {
            break;
        }
    }
    for writer in writers {
        places.extend(writer.await.unwrap());
    }
    // What every node relays: one chain through the pad's log, whichever node committed each link.
    places.sort_by_key(|p| p.id);
    let mut prev = 0;
    for place in &places {
        assert_eq!(
            place.prev, prev,
            "update {} names the wrong predecessor",
            place.id
        );
        prev = place.id;
    }
    let all: Vec<Vec<u8>> = collab_store::log_page(&f.db, id, 0, i64::MAX)
        .await
        .unwrap()
        .into_iter()
        .map(|(_, b)| b)
        .collect();
    assert_eq!(all.len(), nodes.len() * BATCHES * 2);
    for bytes in all {
        if !seen.contains(&bytes) {
            missed.push(String::from_utf8_lossy(&bytes).into_owned());
        }
    }
    assert!(
        missed.is_empty(),
        "a reader following ids missed {} updates, e.g. {:?}",
        missed.len(),
        &missed[..missed.len().min(5)]
    );
}

async fn chat(f: Fixture) {
    let db = &f.db;
    let (owner, bob) = (user(db, "Owner").await, user(db, "Bob").await);
    let id = pad(db, owner, "chat").await;
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(
            opencoder::collab::chat_store::insert(
                db,
                id,
                if i % 2 == 0 { owner } else { bob },
                &format!("m{i}"),
            )
            .await
            .unwrap()
            .id,
        );
    }
    let newest = opencoder::collab::chat_store::page(db, id, None, 2)
        .await
        .unwrap();
    assert_eq!(
        newest.iter().map(|m| m.body.as_str()).collect::<Vec<_>>(),
        ["m3", "m4"]
    );
    let older = opencoder::collab::chat_store::page(db, id, Some(newest[0].id), 10)
        .await
        .unwrap();
    assert_eq!(older.len(), 3);
    opencoder::auth::store::delete(db, bob).await.unwrap();
    let after = opencoder::collab::chat_store::page(db, id, None, 10)
        .await
        .unwrap();
    assert_eq!(
        (after[1].user_id, after[1].name.as_str()),
        (None, "Bob"),
        "the name at sending time stays"
    );
    let first_ms = chrono::DateTime::parse_from_rfc3339(&after[0].at)
        .unwrap()
        .timestamp_millis();
    let timeline = rec_store::chat_page(db, id, &rec_store::TimePos::default(), i64::MAX, 10)
        .await
        .unwrap();
    assert_eq!(timeline.len(), 5);
    assert_eq!(
        timeline[0].at_ms, first_ms,
        "chat times convert to the same instant in ms"
    );
}

/// Every snapshot of a pad's chat that a reader takes while two nodes post must be a prefix of the
/// final history in id order: a message committed later never takes an id below one already seen.
async fn chat_ids_are_commit_ordered_across_nodes(f: Fixture) {
    const POSTS: usize = 100;
    let owner = user(&f.db, "Owner").await;
    let id = pad(&f.db, owner, "chat-order").await;
    let writers: Vec<_> = [f.db.clone(), f.second_pool().await, f.second_pool().await]
        .into_iter()
        .map(|db| {
            tokio::spawn(async move {
                for i in 0..POSTS {
                    opencoder::collab::chat_store::insert(&db, id, owner, &format!("m{i}"))
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    let reader = f.second_pool().await;
    let mut snapshots: Vec<BTreeSet<i64>> = Vec::new();
    while !writers.iter().all(|w| w.is_finished()) {
        let page = opencoder::collab::chat_store::page(&reader, id, None, 10_000)
            .await
            .unwrap();
        snapshots.push(page.iter().map(|m| m.id).collect());
    }
    let all: Vec<i64> = opencoder::collab::chat_store::page(&f.db, id, None, 10_000)
        .await
        .unwrap()
        .iter()
        .map(|m| m.id)
        .collect();
    assert_eq!(all.len(), 3 * POSTS);
    for seen in snapshots {
        let Some(&newest) = seen.last() else { continue };
        let gaps = all
            .iter()
            .filter(|m| **m < newest && !seen.contains(m))
            .count();
        assert_eq!(
            gaps, 0,
            "a reader saw message {newest} before {gaps} messages with lower ids"
        );
    }
}

async fn runs_and_recordings(f: Fixture) {
    let db = &f.db;
    let owner = user(db, "Owner").await;
    let id = pad(db, owner, "rec").await;
    let mut layout = opencoder::exec::transcript::Layout::default();
    layout.push(opencoder::exec::output::OutputKind::Stdout, "ou");
    layout.push(opencoder::exec::output::OutputKind::Stderr, "err");
    layout.push(opencoder::exec::output::OutputKind::Stdin, "t");
    let run = opencoder::exec::service::RunRecord {
        run_id: "run-1".into(),
        kind: opencoder::exec::repl::RunKind::Repl,
        language: "python".into(),
        entry: "main.py".into(),
        started_at_ms: 1_000,
        finished_at_ms: 1_500,
        exit_code: Some(1),
        signal: None,
        timed_out: true,
        oom_killed: false,
        truncated: true,
        duration_ms: 500,
        backend: "docker".into(),
        pooled: false,
        compile_cache: None,
        outcome: "timeout".into(),
        error: None,
        stdout: "out".into(),
        stderr: "err".into(),
        stopped_by: Some("Owner".into()),
        stopped_by_user: Some(owner),
        layout,
    };
    opencoder::exec::store::insert(db, id, owner, &run)
        .await
        .unwrap();
    let runs = rec_store::runs_page(db, id, &rec_store::TimePos::default(), i64::MAX, 10)
        .await
        .unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(
        (
            runs[0].timed_out,
            runs[0].oom_killed,
            runs[0].truncated,
            runs[0].exit_code
        ),
        (true, false, true, Some(1))
    );
    let last = opencoder::exec::store::find(db, id, None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            last.run_id.as_str(),
            last.user_name.as_deref(),
            last.stdout.as_str()
        ),
        ("run-1", Some("Owner"), "out")
    );
    assert_eq!(last.kind, "repl");
    assert_eq!(
        last.stopped_by.as_deref(),
        Some("Owner"),
        "who stopped it is kept"
    );
    assert_eq!(
        last.layout.as_deref(),
        Some(r#"[["o",2],["e",3],["i",1]]"#),
        "and how its output interleaved"
    );
    assert!(opencoder::exec::store::find(db, id, Some("run-1"))
        .await
        .unwrap()
        .is_some());
    assert!(opencoder::exec::store::find(db, id, Some("run-2"))
        .await
        .unwrap()
        .is_none());

    let rec = rec_store::insert_recording(db, id, "R", Some(owner), 900, true)
        .await
        .unwrap();
    let second = rec_store::insert_recording(db, id, "R2", Some(owner), 950, false)
        .await
        .unwrap_err();
    assert!(
        matches!(&second, sqlx::Error::Database(e) if e.is_unique_violation()),
        "one active recording per pad"
    );
    let active = rec_store::active_recording(db, id).await.unwrap().unwrap();
    assert_eq!(
        (
            active.id,
            active.auto_started,
            active.created_by_name.as_deref()
        ),
        (rec, true, Some("Owner"))
    );
    assert!(
        rec_store::end_recording(db, id, rec, 100, Some(owner), "manual")
            .await
            .unwrap()
    );
    assert!(
        !rec_store::end_recording(db, id, rec, 2_000, Some(owner), "manual")
            .await
            .unwrap()
    );
    assert_eq!(
        rec_store::find_recording(db, id, rec)
            .await
            .unwrap()
            .unwrap()
            .ended_at_ms,
        Some(900),
        "never before the start"
    );
    rec_store::set_auto_record(db, id, true).await.unwrap();
    assert!(rec_store::auto_record(db, id).await.unwrap());

    let event = rec_store::insert_pad_event(
        db,
        None,
        id,
        1_200,
        "join",
        Some(owner),
        &serde_json::json!({"n": 1}),
    )
    .await
    .unwrap();
    assert!(event > 0);
    assert_eq!(
        rec_store::latest_pad_event(db, id, "join", 1_300)
            .await
            .unwrap(),
        Some(serde_json::json!({"n": 1}))
    );
    assert_eq!(
        rec_store::pad_events_page(
            db,
            id,
            &rec_store::TimePos::default(),
            i64::MAX,
            10,
            rec_store::Audience::Interviewers
        )
        .await
        .unwrap()
        .len(),
        1
    );
    assert_eq!(
        rec_store::last_activity_ms(db, id).await.unwrap(),
        Some(1_500)
    );

    // Seek data over a short log.
    let batch: Vec<Vec<u8>> = (0..4).map(|i| vec![i; 10]).collect();
    let writes: Vec<LogWrite<'_>> = batch
        .iter()
        .enumerate()
        .map(|(i, b)| LogWrite::Update {
            pad: id,
            user: None,
            at_ms: 2_000 + i as i64,
            bytes: b,
        })
        .collect();
    collab_store::commit_log(db, &writes).await.unwrap();
    let rec2 = rec_store::insert_recording(db, id, "R3", None, 2_000, false)
        .await
        .unwrap();
    let first = rec_store::next_update_after(db, id, 0)
        .await
        .unwrap()
        .unwrap();
    let third = rec_store::nth_update_after(db, id, 0, 3)
        .await
        .unwrap()
        .unwrap();
    rec_store::insert_recording_checkpoint(db, None, id, rec2, first, b"cp")
        .await
        .unwrap();
    rec_store::insert_segment(db, None, id, rec2, first, third, b"seg")
        .await
        .unwrap();
    assert_eq!(
        rec_store::newest_recording_checkpoint(db, id, rec2)
            .await
            .unwrap(),
        first
    );
    assert_eq!(
        rec_store::newest_segment(db, id, rec2).await.unwrap(),
        Some(third)
    );
    let base = rec_store::checkpoint_at_or_before_time(db, id, 2_002)
        .await
        .unwrap();
    assert_eq!(
        (base.upto, base.v2, base.state.as_deref()),
        (first, true, Some(&b"cp"[..]))
    );
    let by_update = rec_store::checkpoint_at_or_before_update(db, id, third)
        .await
        .unwrap();
    assert_eq!(by_update.upto, first);
    assert_eq!(
        rec_store::last_update_at_or_before(db, id, 2_001)
            .await
            .unwrap(),
        first + 1
    );
    assert_eq!(
        rec_store::updates_between(db, id, first, Some(third), None)
            .await
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        rec_store::update_bytes_between(db, id, first, None, Some(2_002))
            .await
            .unwrap(),
        20
    );
    assert_eq!(
        rec_store::segments_between(db, id, 0, None, None)
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        rec_store::segment_bytes_between(db, id, 0, None, None)
            .await
            .unwrap(),
        3
    );
    // A segment bounds the single updates of an instant only when it ends after it: one ending
    // at or before it (written while a seek read, so not chained) would cut its later updates off.
    assert_eq!(
        rec_store::next_segment_end(db, id, first, 2_001)
            .await
            .unwrap(),
        Some(third)
    );
    assert_eq!(
        rec_store::next_segment_end(db, id, first, 2_002)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        rec_store::edits_page(db, id, 0, i64::MAX, 2_001, 2_002, 10)
            .await
            .unwrap()
            .len(),
        2
    );
    assert_eq!(rec_store::all_active_recordings(db).await.unwrap().len(), 1);
    assert_eq!(rec_store::list_recordings(db, id).await.unwrap().len(), 2);
    assert!(rec_store::delete_recording(db, id, rec2).await.unwrap());
    assert_eq!(
        rec_store::segments_between(db, id, 0, None, None)
            .await
            .unwrap()
            .len(),
        0,
        "seek data goes with it"
    );
}

/// Two nodes (two pools, each with its own in-process lock) append at once: still one chain.
async fn audit_chain_with_two_nodes(f: Fixture) {
    const PER_NODE: usize = 40;
    let nodes = [
        AuditLog::new(f.db.clone()),
        AuditLog::new(f.second_pool().await),
    ];
    let appends = nodes.iter().enumerate().flat_map(|(n, log)| {
        (0..PER_NODE).map(move |i| {
            let log = log.clone();
            tokio::spawn(async move {
                let actor = Actor {
                    user: Some(UserId(i as i64)),
                    ..Actor::default()
                };
                log.append(
                    &actor,
                    AuditEvent::new(AuditAction::PadFork).target(format!("node{n}-{i}")),
                )
                .await
                .unwrap();
            })
        })
    });
    for done in futures_util::future::join_all(appends.collect::<Vec<_>>()).await {
        done.unwrap();
    }
    let outcome = opencoder::audit::cli::verify(&f.db).await.unwrap();
    assert_eq!((outcome.rows, outcome.broken), (2 * PER_NODE as u64, None));
    let filter = opencoder::audit::cli::AuditFilter {
        pad: Some("node1-3".into()),
        ..Default::default()
    };
    assert_eq!(
        opencoder::audit::cli::query(&f.db, &filter)
            .await
            .unwrap()
            .len(),
        1
    );
}

/// Test cases copied into an interview; a take-home's one attempt, submitted once, graded by one
/// claim (taken over only once stale), its results stored.
async fn takehomes_submit_and_grade_once(f: Fixture) {
    let db = &f.db;
    let (ada, cam, dan) = (
        user(db, "Ada").await,
        user(db, "Cam").await,
        user(db, "Dan").await,
    );
    let case = |name: &str, hidden: bool| TestCase {
        name: name.into(),
        kind: CaseKind::Stdin,
        stdin: "1 2\n".into(),
        args: None,
        expected: "3\n".into(),
        hidden,
        compare: Compare::Lines,
        function_name: None,
    };
    let call = TestCase {
        name: "call".into(),
        kind: CaseKind::Function,
        stdin: String::new(),
        args: Some("[1, 2]".into()),
        expected: "3".into(),
        hidden: true,
        compare: Compare::Trimmed,
        function_name: Some("add".into()),
    };
    let fields = QuestionFields {
        title: "Sum".into(),
        prompt: String::new(),
        difficulty: "easy".into(),
        guidance: String::new(),
        tags: vec![],
        files: vec![StarterFile {
            language: "python".into(),
            name: "main.py".into(),
            content: String::new(),
        }],
        scorecard_template: None,
        signature: Some(Signature {
            function: "add".into(),
            params: vec!["a".into(), "b".into()],
        }),
        tests: vec![case("seen", false), case("secret", true), call],
    };
    let CreateOutcome::Created(question) =
        questions::store::create(db, ada, &fields, 5).await.unwrap()
    else {
        panic!("under the limit")
    };
    let found = questions::store::find(db, question, ada)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.tests, fields.tests);
    assert_eq!(
        found.row.signature.as_deref(),
        Some(r#"{"function":"add","params":["a","b"]}"#)
    );
    let slug_pad = pad(db, ada, "takehome-pad").await;
    test_cases::store::copy_to_interview(db, question, slug_pad)
        .await
        .unwrap();
    assert_eq!(
        test_cases::store::for_interview(db, slug_pad)
            .await
            .unwrap(),
        fields.tests
    );

    let new = |hash: &'static str| NewTakehome {
        question,
        created_by: ada,
        token_hash: hash,
        languages: "python",
        opens_at_ms: 0,
        closes_at_ms: 10_000,
        time_limit_ms: 1_000,
    };
    // Two nodes racing for the last place: exactly one wins.
    let other = f.second_pool().await;
    let (h1, h2) = (new("h1"), new("h2"));
    let (a, b) = tokio::join!(
        takehomes::store::create(db, &h1, 1),
        takehomes::store::create(&other, &h2, 1)
    );
    let ids: Vec<i64> = [a.unwrap(), b.unwrap()].into_iter().flatten().collect();
    assert_eq!(ids.len(), 1);
    let takehome = ids[0];
    let row = takehomes::store::find(db, takehome).await.unwrap().unwrap();
    let by_hash = if takehomes::store::find_by_token_hash(db, "h1")
        .await
        .unwrap()
        .is_some()
    {
        "h1"
    } else {
        "h2"
    };
    assert_eq!(
        takehomes::store::find_by_token_hash(db, by_hash)
            .await
            .unwrap()
            .unwrap()
            .id,
        row.id
    );

    let attempt = |candidate: UserId| NewAttempt {
        takehome,
        pad: slug_pad,
        candidate,
        language: "python",
        started_at_ms: 100,
        deadline_ms: 1_100,
    };
    assert!(takehomes::store::insert_attempt(db, &attempt(cam))
        .await
        .unwrap());
    assert!(
        !takehomes::store::insert_attempt(db, &attempt(dan))
            .await
            .unwrap(),
        "one start per link"
    );
    assert!(takehomes::store::overdue(db, 1_099)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        takehomes::store::overdue(db, 1_100).await.unwrap(),
        vec![slug_pad]
    );
    // Submitting twice at once, from two nodes: one wins.
    let (a, b) = tokio::join!(
        takehomes::store::submit(db, slug_pad, 1_100, "deadline"),
        takehomes::store::submit(&other, slug_pad, 1_100, "candidate")
    );
    assert_eq!(
        [a.unwrap(), b.unwrap()]
            .iter()
            .filter(|s| s.is_some())
            .count(),
        1
    );
    assert!(takehomes::store::overdue(db, 5_000)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        takehomes::store::ungraded(db, 0).await.unwrap(),
        vec![slug_pad]
    );
    // One claim at a time; a stale one is taken over.
    let (a, b) = tokio::join!(
        takehomes::store::claim_grading(db, slug_pad, 2_000, 0),
        takehomes::store::claim_grading(&other, slug_pad, 2_000, 0)
    );
    assert_eq!(
        [a.unwrap(), b.unwrap()]
            .iter()
            .filter(|s| s.is_some())
            .count(),
        1
    );
    assert!(takehomes::store::ungraded(db, 2_000)
        .await
        .unwrap()
        .is_empty());
    assert!(takehomes::store::claim_grading(db, slug_pad, 3_000, 2_000)
        .await
        .unwrap()
        .is_none());
    assert!(takehomes::store::claim_grading(db, slug_pad, 9_000, 2_001)
        .await
        .unwrap()
        .is_some());
    let results = vec![CaseResult {
        index: 1,
        name: "secret".into(),
        hidden: true,
        passed: true,
        outcome: "ok".into(),
        actual: "3\n".into(),
        stderr: String::new(),
        duration_ms: 12,
        returned: Some("[1,2]".into()),
        error: Some("ValueError: no".into()),
    }];
    takehomes::store::store_results(db, slug_pad, &results, 9_500)
        .await
        .unwrap();
    assert_eq!(
        takehomes::store::results(db, slug_pad).await.unwrap(),
        results
    );
    let graded = takehomes::store::attempt_on_pad(db, slug_pad)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (graded.graded_at_ms, graded.candidate_id),
        (Some(9_500), cam)
    );
    assert!(
        takehomes::store::claim_grading(db, slug_pad, 99_000, 98_000)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        takehomes::store::for_question(db, question)
            .await
            .unwrap()
            .len(),
        1
    );
}

/// The question bank and interview rows: limits counted in the transaction, visibility, search
/// and filters, switches, the end and the waiting room.
async fn questions_and_interviews(f: Fixture) {
    let db = &f.db;
    let (ada, bob) = (user(db, "Ada").await, user(db, "Bob").await);
    let fields = |title: &str, tag: &str, language: &str| QuestionFields {
        title: title.into(),
        prompt: format!("Prompt of {title} with 50% and a_b"),
        difficulty: "easy".into(),
        guidance: "secret".into(),
        tags: vec![tag.into()],
        files: vec![StarterFile {
            language: language.into(),
            name: "main.x".into(),
            content: "x".into(),
        }],
        scorecard_template: Some(r#"{"sections":[]}"#.into()),
        signature: None,
        tests: vec![],
    };
    let created = |outcome: CreateOutcome| match outcome {
        CreateOutcome::Created(id) => id,
        CreateOutcome::TooMany => panic!("under the limit"),
    };
    let sum = created(
        questions::store::create(db, ada, &fields("Two sum", "arrays", "python"), 2)
            .await
            .unwrap(),
    );
    let walk = created(
        questions::store::create(db, ada, &fields("Graph walk", "graphs", "go"), 2)
            .await
            .unwrap(),
    );
    assert!(matches!(
        questions::store::create(db, ada, &fields("Third", "x", "go"), 2)
            .await
            .unwrap(),
        CreateOutcome::TooMany
    ));
    // Two nodes racing for the last place: exactly one wins.
    let other = f.second_pool().await;
    let (b1, b2) = (fields("B1", "x", "go"), fields("B2", "x", "go"));
    let (a, b) = tokio::join!(
        questions::store::create(db, bob, &b1, 1),
        questions::store::create(&other, bob, &b2, 1)
    );
    let wins = [a.unwrap(), b.unwrap()]
        .iter()
        .filter(|o| matches!(o, CreateOutcome::Created(_)))
        .count();
    assert_eq!(wins, 1);

    let found = questions::store::find(db, sum, ada).await.unwrap().unwrap();
    assert_eq!(
        (
            found.row.title.as_str(),
            found.tags.clone(),
            found.files.len()
        ),
        ("Two sum", vec!["arrays".to_string()], 1)
    );
    assert!(
        questions::store::find(db, sum, bob)
            .await
            .unwrap()
            .is_none(),
        "a stranger sees nothing"
    );
    assert!(
        !questions::store::update(db, sum, bob, &fields("Taken", "x", "go"))
            .await
            .unwrap()
    );
    assert_eq!(
        questions::store::add_editor(db, sum, ada, bob, 1)
            .await
            .unwrap(),
        ShareOutcome::Added
    );
    assert_eq!(
        questions::store::add_editor(db, sum, ada, bob, 1)
            .await
            .unwrap(),
        ShareOutcome::Already
    );
    let carl = user(db, "Carl").await;
    assert_eq!(
        questions::store::add_editor(db, sum, ada, carl, 1)
            .await
            .unwrap(),
        ShareOutcome::TooMany
    );
    assert_eq!(
        questions::store::add_editor(db, sum, bob, carl, 5)
            .await
            .unwrap(),
        ShareOutcome::Missing,
        "not the owner"
    );
    assert!(
        questions::store::update(db, sum, bob, &fields("Two sum v2", "hashing", "python"))
            .await
            .unwrap()
    );
    let found = questions::store::find(db, sum, bob).await.unwrap().unwrap();
    assert_eq!(
        (found.row.title.as_str(), found.tags.clone()),
        ("Two sum v2", vec!["hashing".to_string()])
    );

    let list = |filter: Filter| async move {
        questions::store::list(db, ada, &filter, 10)
            .await
            .unwrap()
            .into_iter()
            .map(|s| s.id)
            .collect::<Vec<_>>()
    };
    assert_eq!(list(Filter::default()).await, vec![walk, sum]);
    assert_eq!(
        list(Filter {
            tag: Some("graphs".into()),
            ..Filter::default()
        })
        .await,
        vec![walk]
    );
    assert_eq!(
        list(Filter {
            language: Some("python".into()),
            ..Filter::default()
        })
        .await,
        vec![sum]
    );
    assert_eq!(
        list(Filter {
            text: Some("graph w".into()),
            ..Filter::default()
        })
        .await,
        vec![walk]
    );
    assert_eq!(
        list(Filter {
            text: Some("50%".into()),
            ..Filter::default()
        })
        .await,
        vec![walk, sum]
    );
    assert_eq!(
        list(Filter {
            text: Some("0%x".into()),
            ..Filter::default()
        })
        .await,
        Vec::<i64>::new()
    );
    assert_eq!(
        list(Filter {
            before: Some(walk),
            ..Filter::default()
        })
        .await,
        vec![sum]
    );
    let summary = &questions::store::list(db, ada, &Filter::default(), 1)
        .await
        .unwrap()[0];
    assert_eq!(
        (summary.tags.as_deref(), summary.languages.as_deref()),
        (Some("graphs"), Some("go"))
    );

    // An interview row on a pad, its switches, its end and the waiting room.
    let pad_id = pad(db, ada, "iv").await;
    let new = interview_store::NewInterview {
        pad: pad_id,
        question: sum,
        language: "python",
        title: "Two sum",
        prompt: "P",
        guidance: "G",
        scorecard_template: Some(r#"{"sections":[]}"#),
        created_by: ada,
    };
    interview_store::create(db, &new).await.unwrap();
    let values = interview_store::SwitchValues {
        locked: true,
        run_disabled: false,
        terminal_disabled: true,
        prompt_hidden: false,
        timer_mode: Some("elapsed".into()),
        timer_started_ms: Some(7),
        timer_duration_ms: None,
    };
    let row = interview_store::set_switches(db, pad_id, &values)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            row.locked,
            row.run_disabled,
            row.terminal_disabled,
            row.timer_started_ms
        ),
        (true, false, true, Some(7))
    );
    let pad_member = |role: &'static str| async move {
        pad_store::grant_at_least(db, pad_id, bob, Role::parse(role).unwrap(), ROOMY)
            .await
            .unwrap();
    };
    pad_member("candidate").await;
    assert_eq!(
        interview_store::find_with_admission(db, pad_id, bob)
            .await
            .unwrap()
            .unwrap()
            .1,
        None
    );
    assert_eq!(
        interview_store::knock(db, pad_id, bob).await.unwrap(),
        ("waiting".to_string(), true)
    );
    assert_eq!(
        interview_store::knock(db, pad_id, bob).await.unwrap(),
        ("waiting".to_string(), false)
    );
    assert_eq!(
        interview_store::not_admitted(db, pad_id).await.unwrap()[0].name,
        "Bob"
    );
    assert!(interview_store::decide(db, pad_id, bob, "admitted", ada)
        .await
        .unwrap());
    assert!(
        !interview_store::decide(db, pad_id, carl, "admitted", ada)
            .await
            .unwrap(),
        "never knocked"
    );
    assert_eq!(
        interview_store::find_with_admission(db, pad_id, bob)
            .await
            .unwrap()
            .unwrap()
            .1
            .as_deref(),
        Some("admitted")
    );
    assert!(interview_store::not_admitted(db, pad_id)
        .await
        .unwrap()
        .is_empty());
    assert!(interview_store::end(db, pad_id, ada, 99)
        .await
        .unwrap()
        .is_some());
    assert!(
        interview_store::end(db, pad_id, ada, 100)
            .await
            .unwrap()
            .is_none(),
        "ends once"
    );
    assert!(
        interview_store::set_switches(db, pad_id, &values)
            .await
            .unwrap()
            .is_none(),
        "no switches after the end"
    );
    // The question goes; the interview keeps its copy.
    assert!(
        !questions::store::delete(db, sum, bob).await.unwrap(),
        "a co-editor cannot delete"
    );
    assert!(questions::store::delete(db, sum, ada).await.unwrap());
    let kept = interview_store::find(db, pad_id).await.unwrap().unwrap();
    assert_eq!(
        (kept.question_id, kept.prompt.as_str(), kept.ended_at_ms),
        (None, "P", Some(99))
    );
}

async fn migrations_apply_to_an_empty_database(f: Fixture) {
    let known: Vec<i64> = f.db.migrator().iter().map(|m| m.version).collect();
    let applied = f.db.applied_migrations().await.unwrap();
    assert_eq!(
        applied.iter().map(|(v, _, _)| *v).collect::<Vec<_>>(),
        known
    );
    assert!(applied.iter().all(|(_, _, success)| *success));
    f.db.migrate().await.unwrap();
    assert_eq!(
        f.db.applied_migrations().await.unwrap(),
        applied,
        "migrating again changes nothing"
    );
}

/// The operator's tools open either backend: the doctor's database check and the audit CLI.
async fn doctor_and_audit_cli_open_the_database(f: Fixture) {
    let (check, db) = opencoder::doctor::database(&f.url).await;
    assert_eq!(
        check.status,
        opencoder::doctor::Status::Ok,
        "{}",
        check.summary
    );
    let known = f.db.migrator().iter().count();
    assert!(
        check
            .summary
            .contains(&format!("{known}/{known} migrations applied")),
        "{}",
        check.summary
    );
    assert!(db.is_some());
    AuditLog::new(f.db.clone())
        .append(&Actor::default(), AuditEvent::new(AuditAction::PadFork))
        .await
        .unwrap();
    let cli = opencoder::audit::cli::open(&f.url).await.unwrap();
    assert_eq!(opencoder::audit::cli::verify(&cli).await.unwrap().rows, 1);
}

on_both_backends! {
    migrations_apply_to_an_empty_database => migrations_apply_to_an_empty_database;
    doctor_and_audit_cli_open_the_database => doctor_and_audit_cli_open_the_database;
}

/// Databases migrated before the SQLite files moved to `migrations/sqlite/` recorded these
/// checksums (SHA-384 of each file); a changed byte would make every such database refuse to start.
#[tokio::test]
async fn sqlite_migrations_keep_the_checksums_existing_databases_recorded() {
    const RECORDED: [(i64, &str); 17] = [
        (1, "a710581702674aad4f7724b8723395edb010f70cb0ba54d8aa514e655d3dadd3dca254095177878eabebde15ea027f49"),
        (3, "30ed0007192b9d60d788360891679b184e8e0c73e35a3fbb5434bdabb2c06e107728295f0a46c393ea7cfe6dd1bde5a4"),
        (4, "4996a1d5250e5bc296e0064399800618789daa3532ef72f65da085e0d5810425dbc104d0d091e207e3e3fb8fd4eefbb9"),
        (5, "00ee5c7158b8d67f50fb6a8e893b96251f8a0eb390bd92894ed528c90bbdc407b5b50953600f75ab4507daa5523184ae"),
        (6, "c52aeb599d97b8204f3d0d61837baeed20d8abffa600e17fd8a39e7a6a41c81f19b9bcf230de1669341dee5efe8f1005"),
        (7, "8ed51e76e933800959d8f6632cee38662fead57c101d61413b74dbf71aa14fa2e92e97d820d5b8cc97746d1de0a31083"),
        (8, "1fb0e8a4a2fa4d7d2a38335f32045c2996af6f9fd66e7d59e893ff33efcb2a36be133a508aa758b377a14b8b13b83686"),
        (9, "d01f9bcd45a8b004b57792f3e702d4d63695dd58a4856dad18794bf2856bc4bdfa675af277c80e534d7212947aeeb49c"),
        (10, "6c5b138aa5f0e742b0d38430eacf8d4ebc25019327fa043d68eb78a734c41edd468c81c103456212eb0d376b7449e38d"),
        (11, "38d045bc39e8ba374174181814049a580bbab2f3c15da7ac3bb30a33c64912994f7813f7e370d1123730988d29a714f7"),
        (12, "8cc48e7da33f574d2f4e6e0b393397a39eeb6d5aa42fc1bacdcdc1c2b782975b3196bbee32c1ac2d71ba73725e424dc6"),
        (14, "055b20cbd7c818ceb87d4a79bf5c32df57803fe508e38d333855a18d32d70f04cfff41a05ac23acb38df0c720342bf08"),
        (15, "4436562d054f09704276f5ab4d0ab929972bc2410a1fe86b194b1eb7beeae35dd0198e83c3f64466e2d0ed5549cfb7eb"),
        (16, "339120f333a14f853052100a6e14b01caa191942d045541f57fd567e102de12a1450fab9589fb5d6ab157210eed02f7e"),
        (17, "e59028bcad1f9238127c045dedd8b4ed2ca572d9c6e7a5479c71edff6833a506275ffcec1d3e17ee01c37772cc6121df"),
        (18, "3fdbb8d9bb7d3e8ea3768fe2ddff1ec401a5fa5746405e5f38018632d01bc7baa4296f30a88995fcb499897e674605ca"),
        (19, "dd8425ad5069ed890454ac7761b3675d37172d4adcdf82a70f8441a6f978fa1e53c05fc40cd1f262cc286102dd5dac39"),
    ];
    let f = Fixture::sqlite().await;
    let applied: Vec<(i64, String)> =
        f.db.applied_migrations()
            .await
            .unwrap()
            .into_iter()
            .map(|(v, checksum, _)| (v, hex::encode(checksum)))
            .collect();
    let recorded: Vec<(i64, String)> = RECORDED.iter().map(|(v, c)| (*v, c.to_string())).collect();
    assert_eq!(applied, recorded);
}

/// Tables, columns, foreign keys (with their ON DELETE) and named indexes are the same on both.
#[tokio::test]
async fn the_postgres_schema_matches_the_sqlite_schema() {
    let sqlite = Fixture::sqlite().await;
    let postgres = Fixture::postgres().await;
    let lite = sqlx::SqlitePool::connect(&sqlite.url).await.unwrap();
    let pg = sqlx::PgPool::connect(&postgres.url).await.unwrap();
    type Rows = BTreeSet<(String, String, String)>;
    let lite_columns: Rows = sqlx::query_as(
        "SELECT m.name, p.name, '' FROM sqlite_master m JOIN pragma_table_info(m.name) p \
         WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name != '_sqlx_migrations'",
    )
    .fetch_all(&lite)
    .await
    .unwrap()
    .into_iter()
    .collect();
    let pg_columns: Rows = sqlx::query_as(
        "SELECT table_name::text, column_name::text, '' FROM information_schema.columns \
         WHERE table_schema = 'public' AND table_name != '_sqlx_migrations'",
    )
    .fetch_all(&pg)
    .await
    .unwrap()
    .into_iter()
    .collect();
    assert_eq!(lite_columns, pg_columns);
    let lite_keys: Rows = sqlx::query_as(
        "SELECT m.name, f.\"from\", f.on_delete FROM sqlite_master m JOIN pragma_foreign_key_list(m.name) f \
         WHERE m.type = 'table'",
    )
    .fetch_all(&lite)
    .await
    .unwrap()
    .into_iter()
    .collect();
    let pg_keys: Rows = sqlx::query_as(
        "SELECT k.table_name::text, k.column_name::text, r.delete_rule::text FROM information_schema.referential_constraints r \
         JOIN information_schema.key_column_usage k ON k.constraint_name = r.constraint_name \
              AND k.constraint_schema = r.constraint_schema \
         WHERE r.constraint_schema = 'public'",
    )
    .fetch_all(&pg)
    .await
    .unwrap()
    .into_iter()
    .collect();
    assert_eq!(lite_keys, pg_keys);
    let lite_indexes: Rows = sqlx::query_as(
        "SELECT tbl_name, name, '' FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_autoindex%'",
    )
    .fetch_all(&lite)
    .await
    .unwrap()
    .into_iter()
    .collect();
    let pg_indexes: Rows = sqlx::query_as(
        "SELECT tablename::text, indexname::text, '' FROM pg_indexes WHERE schemaname = 'public' \
         AND indexname NOT LIKE '%\\_pkey' AND indexname NOT LIKE '%\\_key'",
    )
    .fetch_all(&pg)
    .await
    .unwrap()
    .into_iter()
    .collect();
    assert_eq!(lite_indexes, pg_indexes);
}

/// A lease lasts its TTL on the database's clock; the holder renews it without a new epoch,
/// another node takes it only once it expired (with the next epoch), and a released lease keeps
/// its epoch so the next holder's is still higher.
async fn pad_leases_acquire_renew_and_take_over_after_expiry(f: Fixture) {
    let db = &f.db;
    let owner = user(db, "Owner").await;
    let id = pad(db, owner, "lease").await;
    assert_eq!(
        lease_store::acquire(db, id, "node-a", 60_000)
            .await
            .unwrap(),
        Some(1)
    );
    assert_eq!(
        lease_store::acquire(db, id, "node-a", 60_000)
            .await
            .unwrap(),
        Some(1),
        "a renewal keeps the epoch"
    );
    assert_eq!(
        lease_store::acquire(db, id, "node-b", 60_000)
            .await
            .unwrap(),
        None,
        "a live lease is not taken"
    );
    let held = lease_store::lease(db, id).await.unwrap().unwrap();
    assert_eq!((held.owner.as_str(), held.epoch), ("node-a", 1));
    assert!(
        held.remaining_ms > 59_000 && held.remaining_ms <= 60_000,
        "{}",
        held.remaining_ms
    );

    // Node A stops renewing: its short lease runs out and node B takes over with the next epoch.
    assert_eq!(
        lease_store::acquire(db, id, "node-a", 150).await.unwrap(),
        Some(1)
    );
    assert_eq!(
        lease_store::acquire(db, id, "node-b", 60_000)
            .await
            .unwrap(),
        None
    );
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(
        lease_store::acquire(db, id, "node-b", 60_000)
            .await
            .unwrap(),
        Some(2)
    );
    assert_eq!(
        lease_store::acquire(db, id, "node-a", 60_000)
            .await
            .unwrap(),
        None,
        "the old holder's renewal fails"
    );
    assert_eq!(
        lease_store::live_leases(db)
            .await
            .unwrap()
            .iter()
            .map(|l| (l.owner.as_str(), l.epoch))
            .collect::<Vec<_>>(),
        [("node-b", 2)]
    );

    lease_store::release(db, id, "node-a").await.unwrap();
    assert_eq!(
        lease_store::lease(db, id).await.unwrap().unwrap().owner,
        "node-b",
        "only the holder releases"
    );
    lease_store::release(db, id, "node-b").await.unwrap();
    assert!(lease_store::live_leases(db).await.unwrap().is_empty());
    assert_eq!(
        lease_store::acquire(db, id, "node-a", 60_000)
            .await
            .unwrap(),
        Some(3),
        "released, the epoch still grows"
    );
}

/// Seek data written under an old epoch is refused (and nothing is written); the current epoch's
/// write goes through.
async fn a_stale_epoch_cannot_write_what_only_the_owner_may(f: Fixture) {
    let db = &f.db;
    let owner = user(db, "Owner").await;
    let id = pad(db, owner, "fenced").await;
    let batch: Vec<Vec<u8>> = (0..3).map(|i| vec![i; 10]).collect();
    let writes: Vec<LogWrite<'_>> = batch
        .iter()
        .enumerate()
        .map(|(i, b)| LogWrite::Update {
            pad: id,
            user: None,
            at_ms: 2_000 + i as i64,
            bytes: b,
        })
        .collect();
    collab_store::commit_log(db, &writes).await.unwrap();
    let rec = rec_store::insert_recording(db, id, "R", None, 2_000, false)
        .await
        .unwrap();
    let first = rec_store::next_update_after(db, id, 0)
        .await
        .unwrap()
        .unwrap();
    let third = rec_store::nth_update_after(db, id, 0, 3)
        .await
        .unwrap()
        .unwrap();

    assert_eq!(
        lease_store::acquire(db, id, "node-a", 100).await.unwrap(),
        Some(1)
    );
    let stale = Fence { pad: id, epoch: 1 };
    tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    assert_eq!(
        lease_store::acquire(&f.second_pool().await, id, "node-b", 60_000)
            .await
            .unwrap(),
        Some(2)
    );
    let current = Fence { pad: id, epoch: 2 };
    assert!(!lease_store::is_current(db, stale).await.unwrap());

    let refused = rec_store::insert_segment(db, Some(stale), id, rec, first, third, b"seg").await;
    assert!(
        matches!(refused, Err(FencedError::Stale(p)) if p == id),
        "{refused:?}"
    );
    let refused =
        rec_store::insert_recording_checkpoint(db, Some(stale), id, rec, first, b"cp").await;
    assert!(matches!(refused, Err(FencedError::Stale(_))), "{refused:?}");
    let refused = collab_store::insert_owner_checkpoint(db, stale, third, b"state", b"sv").await;
    assert!(matches!(refused, Err(FencedError::Stale(_))), "{refused:?}");
    assert_eq!(rec_store::newest_segment(db, id, rec).await.unwrap(), None);
    assert_eq!(
        rec_store::newest_recording_checkpoint(db, id, rec)
            .await
            .unwrap(),
        0
    );
    assert_eq!(collab_store::latest_checkpoint(db, id).await.unwrap(), None);

    rec_store::insert_segment(db, Some(current), id, rec, first, third, b"seg")
        .await
        .unwrap();
    rec_store::insert_recording_checkpoint(db, Some(current), id, rec, first, b"cp")
        .await
        .unwrap();
    assert_eq!(
        rec_store::newest_segment(db, id, rec).await.unwrap(),
        Some(third)
    );
    assert_eq!(
        rec_store::newest_recording_checkpoint(db, id, rec)
            .await
            .unwrap(),
        first
    );
    collab_store::insert_owner_checkpoint(db, current, third, b"state", b"sv")
        .await
        .unwrap();
    assert_eq!(
        collab_store::latest_checkpoint(db, id).await.unwrap(),
        Some((third, b"state".to_vec()))
    );
    // A write that changes nothing for another reason (the recording is gone) is not a fence error.
    assert!(rec_store::delete_recording(db, id, rec).await.unwrap());
    rec_store::insert_segment(db, Some(current), id, rec, third, third + 1, b"seg")
        .await
        .unwrap();
}

/// Many nodes (two pools, many owners) ask for one free lease at the same moment: exactly one
/// gets it.
async fn two_nodes_racing_for_one_lease_exactly_one_wins(f: Fixture) {
    let owner = user(&f.db, "Owner").await;
    let id = pad(&f.db, owner, "race").await;
    let pools = [f.db.clone(), f.second_pool().await];
    for round in 0..5 {
        // Long enough that no attempt of a round, however late under load, sees it expire.
        let attempts = (0..16).map(|i| {
            let db = pools[i % 2].clone();
            let node = format!("node-{round}-{i}");
            tokio::spawn(async move {
                let epoch = lease_store::acquire(&db, id, &node, 60_000).await.unwrap();
                epoch.map(|epoch| (node, epoch))
            })
        });
        let won: Vec<(String, i64)> = futures_util::future::join_all(attempts)
            .await
            .into_iter()
            .filter_map(|r| r.unwrap())
            .collect();
        assert_eq!(
            won.iter().map(|(_, epoch)| *epoch).collect::<Vec<_>>(),
            [round + 1],
            "round {round}: exactly one winner, with the next epoch"
        );
        lease_store::release(&f.db, id, &won[0].0).await.unwrap();
    }
}

/// The operator's store: flags, listings with their search (wildcards are literal), storage
/// figures and the settings every node reads.
async fn admin_flags_listings_and_settings(f: Fixture) {
    use opencoder::admin::store::{self as admin_store, PadOrder};
    let db = &f.db;
    let ada = user(db, "Ada").await;
    let bob = user(db, "Bob_100%").await;
    let found = opencoder::auth::store::find(db, ada)
        .await
        .unwrap()
        .unwrap();
    assert!(!found.is_admin && !found.disabled);
    assert!(admin_store::set_admin(db, ada, true).await.unwrap());
    assert!(admin_store::set_disabled(db, bob, true).await.unwrap());
    assert!(!admin_store::set_admin(db, UserId(999_999), true)
        .await
        .unwrap());
    let ada_row = opencoder::auth::store::find(db, ada)
        .await
        .unwrap()
        .unwrap();
    let bob_row = opencoder::auth::store::find(db, bob)
        .await
        .unwrap()
        .unwrap();
    assert!(ada_row.is_admin && !ada_row.disabled);
    assert!(!bob_row.is_admin && bob_row.disabled);
    assert_eq!(
        admin_store::admins(db)
            .await
            .unwrap()
            .iter()
            .map(|u| u.id)
            .collect::<Vec<_>>(),
        [ada]
    );
    assert!(admin_store::set_disabled(db, bob, false).await.unwrap());
    assert!(
        !opencoder::auth::store::find(db, bob)
            .await
            .unwrap()
            .unwrap()
            .disabled
    );

    pad(db, bob, "bobs-pad").await;
    let all = admin_store::search_users(db, "", 0, 10).await.unwrap();
    assert_eq!(all.total, 2);
    assert_eq!(all.items[0].id, bob, "newest first");
    assert_eq!(all.items[0].pads_owned, 1);
    let percent = admin_store::search_users(db, "0%", 0, 10).await.unwrap();
    assert_eq!(percent.total, 1, "a % in the search is a percent sign");
    assert_eq!(
        admin_store::search_users(db, "%", 0, 10)
            .await
            .unwrap()
            .total,
        1
    );
    assert_eq!(
        admin_store::search_users(db, "b_", 0, 10)
            .await
            .unwrap()
            .total,
        1
    );
    assert_eq!(
        admin_store::search_users(db, "ADA", 0, 10)
            .await
            .unwrap()
            .total,
        1
    );
    let paged = admin_store::search_users(db, "", 1, 10).await.unwrap();
    assert_eq!((paged.total, paged.items.len()), (2, 1));
    assert_eq!(admin_store::users_named(db, "Ada").await.unwrap().len(), 1);

    let pads = admin_store::search_pads(db, "BOB", PadOrder::LargestHistory, 0, 10)
        .await
        .unwrap();
    assert_eq!(pads.total, 1, "found by its owner's name");
    assert_eq!(pads.items[0].slug, "bobs-pad");
    assert_eq!(pads.items[0].owner_name, "Bob_100%");
    assert_eq!(pads.items[0].history_bytes, 0);
    assert!(admin_store::database_bytes(db).await.unwrap() > 0);
    assert_eq!(admin_store::recordings_bytes(db).await.unwrap(), 0);

    assert_eq!(
        opencoder::admin::signup_mode(db).await.unwrap(),
        opencoder::admin::SignupMode::Open
    );
    opencoder::admin::set_signup_mode(db, opencoder::admin::SignupMode::InviteOnly)
        .await
        .unwrap();
    let other_node = f.second_pool().await;
    assert_eq!(
        opencoder::admin::signup_mode(&other_node).await.unwrap(),
        opencoder::admin::SignupMode::InviteOnly,
        "every node reads the same mode"
    );
    admin_store::set_setting(db, "signup_mode", "closed")
        .await
        .unwrap();
    assert_eq!(
        admin_store::setting(db, "signup_mode")
            .await
            .unwrap()
            .as_deref(),
        Some("closed")
    );
}
