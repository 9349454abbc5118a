//! Backup and restore over real servers and real databases: a server filled with every kind of
//! data is backed up while a collaborator keeps typing through the pad socket, restored into a
//! fresh SQLite and a fresh PostgreSQL database (and a PostgreSQL server's backup into SQLite),
//! and compared table by table, through the pad's text, playback and sign-in. Then the attacks:
//! a tampered archive, a non-empty target, an archive from a newer schema, hostile member names.

mod collab_support;
mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::postgres::TempPostgres;
use common::{TestApp, TestUser};
use opencoder::backup::archive::open_verified;
use opencoder::backup::value::Value;
use opencoder::backup::{BackupError, Target};
use opencoder::db::{Backend, Db, PadId};
use serde_json::json;
use yrs::{Text, WriteTxn};

/// Seek data every few updates, so the recording has many segments.
const TEST_SEGMENT_UPDATES: u64 = 20;
/// Edits typed over the pad socket while filling (within its burst allowance).
const SOCKET_EDITS: usize = 100;
/// Edits made through the document store while filling: past the engine's checkpoint interval.
const HISTORY_EDITS: usize = 600;
/// Pause between edits while the backup runs (under the socket's update rate).
const TYPING_PAUSE: Duration = Duration::from_millis(25);

/// A filled server and what the checks need of it.
struct Filled {
    app: TestApp,
    data_dir: tempfile::TempDir,
    database_url: String,
    owner: TestUser,
    slug: String,
    file: String,
    recording: i64,
    window: (i64, i64),
    /// The file's text when the typing during the backup began.
    text_before_backup: String,
    /// An interview pad whose private notes (a hidden companion pad) hold `NOTES`.
    interview: String,
}

const NOTES: &str = "## Private notes\nasked good questions\n";

/// A server on `database_url` (a fresh SQLite file when `None`) in a data directory of its own.
async fn server(database_url: Option<&str>) -> (TestApp, tempfile::TempDir, String) {
    let data_dir = tempfile::tempdir().unwrap();
    let dir = data_dir.path().display().to_string();
    let url = database_url
        .map(str::to_string)
        .unwrap_or_else(|| format!("sqlite://{dir}/opencoder.db"));
    let app =
        TestApp::spawn_with(&[("DATA_DIR", dir.as_str()), ("DATABASE_URL", url.as_str())]).await;
    (app, data_dir, url)
}

/// Users, a logout-all, a pad with members, invites, a kick, files, a long history with engine
/// checkpoints, a closed recording with its seek data, chat, a real run, recording settings and
/// the audit rows all of that writes.
async fn fill(database_url: Option<&str>) -> Filled {
    let (app, data_dir, database_url) = server(database_url).await;
    app.state
        .recordings
        .set_segment_updates(TEST_SEGMENT_UPDATES);
    let owner = app.signup("Ada").await;
    let bob = app.signup("Bob").await;
    let carol = app.signup("Carol").await;
    let dave = app.signup("Dave").await;
    assert_eq!(
        app.post("/api/auth/logout-all", Some(&dave.token), json!({}))
            .await
            .status,
        200
    );
    let body = app
        .create_pad(&owner, json!({ "title": "backup", "language": "python" }))
        .await;
    let slug = body["pad"]["slug"].as_str().unwrap().to_string();
    let pad_id = PadId(body["pad"]["id"].as_i64().unwrap());
    let file = body["files"][0]["id"].as_i64().unwrap().to_string();
    app.add_member(&owner, &slug, &bob, "collaborator").await;
    app.add_member(&owner, &slug, &carol, "viewer").await;
    let spare = app
        .post(
            &format!("/api/pads/{slug}/invites"),
            Some(&owner.token),
            json!({ "role": "viewer" }),
        )
        .await;
    assert_eq!(spare.status, 201, "{:?}", spare.body);
    let kicked = app
        .delete(
            &format!("/api/pads/{slug}/members/{}", carol.id),
            Some(&owner.token),
        )
        .await;
    assert!(kicked.status.is_success(), "{:?}", kicked.body);
    let added = app
        .post(
            &format!("/api/pads/{slug}/files"),
            Some(&owner.token),
            json!({ "name": "util.py", "content": "X = 1\n" }),
        )
        .await;
    assert_eq!(added.status, 201, "{:?}", added.body);
    let patched = app
        .patch(
            &format!("/api/pads/{slug}/recording-settings"),
            Some(&owner.token),
            json!({ "autoRecord": false }),
        )
        .await;
    assert!(patched.status.is_success(), "{:?}", patched.body);

    let started = app
        .post(
            &format!("/api/pads/{slug}/recordings"),
            Some(&owner.token),
            json!({ "name": "Round 1" }),
        )
        .await;
    assert_eq!(started.status, 201, "{:?}", started.body);
    let recording = started.body["recording"]["id"].as_i64().unwrap();
    // Typing over the socket (within its rate limit), then a long history through the document
    // store, past the engine's checkpoint interval.
    let mut peer = collab_support::connect(&app.base, &slug, &bob.token).await;
    peer.synced().await;
    for i in 0..SOCKET_EDITS {
        peer.append(&file, &format!("typed {i}\n")).await;
    }
    let last_typed = format!("typed {}\n", SOCKET_EDITS - 1);
    for _ in 0..200 {
        if file_text(&app, &owner, &slug, &file)
            .await
            .ends_with(&last_typed)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        file_text(&app, &owner, &slug, &file)
            .await
            .ends_with(&last_typed),
        "the typing reached the server"
    );
    let key = format!("file:{file}");
    for i in 0..HISTORY_EDITS {
        let key = key.clone();
        app.state
            .docs
            .edit(pad_id, Some(opencoder::db::UserId(bob.id)), move |txn| {
                let text = txn.get_or_insert_text(key.as_str());
                let end = text.len(txn);
                text.insert(txn, end, &format!("line {i}\n"));
            })
            .await
            .unwrap();
    }
    peer.send_app(json!({ "type": "chat", "body": "ready when you are" }))
        .await;
    opencoder::collab::chat_store::insert(
        &app.state.db,
        pad_id,
        opencoder::db::UserId(bob.id),
        "looks good",
    )
    .await
    .unwrap();
    let run = app
        .post(
            &format!("/api/pads/{slug}/runs?wait=1"),
            Some(&owner.token),
            json!({ "entry": "util.py" }),
        )
        .await;
    assert_eq!(run.status, 200, "a real run: {:?}", run.body);
    app.state.docs.flush_log().await;
    let stopped = app
        .post(
            &format!("/api/pads/{slug}/recordings/{recording}/stop"),
            Some(&owner.token),
            json!({}),
        )
        .await;
    assert_eq!(stopped.status, 200, "{:?}", stopped.body);
    let found = opencoder::recordings::store::find_recording(&app.state.db, pad_id, recording)
        .await
        .unwrap()
        .unwrap();
    opencoder::recordings::background::write_due_checkpoints(&app.state, &found)
        .await
        .unwrap();
    peer.close().await;
    let (interview, _) = app.start_interview(&owner).await;
    let (mut notes, notes_file) =
        collab_support::notes_peer(&app.base, &interview, &owner.token).await;
    notes.append(&notes_file, NOTES).await;
    notes.drain(Duration::from_millis(200)).await;
    notes.close().await;
    // A checkpoint of the document as it stands, beside the ones the log writer took.
    app.state.docs.flush_all().await;
    let window = (
        stopped.body["recording"]["startedAt"].as_i64().unwrap(),
        stopped.body["recording"]["endedAt"].as_i64().unwrap(),
    );
    let text_before_backup = file_text(&app, &owner, &slug, &file).await;
    // The operator's state: an admin, a disabled account and the sign-up mode (stored, and open:
    // the comparison signs up again).
    let db = &app.state.db;
    opencoder::admin::store::set_admin(db, opencoder::db::UserId(owner.id), true)
        .await
        .unwrap();
    opencoder::admin::store::set_disabled(db, opencoder::db::UserId(dave.id), true)
        .await
        .unwrap();
    opencoder::admin::set_signup_mode(db, opencoder::admin::SignupMode::Open)
        .await
        .unwrap();
    Filled {
        app,
        data_dir,
        database_url,
        owner,
        slug,
        file,
        recording,
        window,
        text_before_backup,
        interview,
    }
}

async fn file_text(app: &TestApp, user: &TestUser, slug: &str, file: &str) -> String {
    let r = app
        .get(&format!("/api/pads/{slug}/files/{file}"), Some(&user.token))
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    r.body["content"].as_str().unwrap().to_string()
}

/// Back up `filled` while the owner types through the pad socket; returns the archive and how
/// many edits were sent before and after the backup was taken.
async fn backup_while_editing(
    filled: &Filled,
    out: &Path,
) -> (opencoder::backup::manifest::Manifest, usize) {
    let mut editor =
        collab_support::connect(&filled.app.base, &filled.slug, &filled.owner.token).await;
    editor.synced().await;
    let done = AtomicBool::new(false);
    let typing = async {
        let mut sent = 0usize;
        while !done.load(Ordering::SeqCst) {
            editor.append(&filled.file, &format!("e{sent}\n")).await;
            sent += 1;
            tokio::time::sleep(TYPING_PAUSE).await;
        }
        sent
    };
    let backing_up = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let db = Db::connect(&filled.database_url).await.unwrap();
        let manifest =
            opencoder::backup::create(&db, filled.data_dir.path(), &["jwt_secret", "node_id"], out)
                .await
                .unwrap();
        db.close().await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        done.store(true, Ordering::SeqCst);
        manifest
    };
    let (sent, manifest) = tokio::join!(typing, backing_up);
    editor.close().await;
    filled.app.state.docs.flush_log().await;
    (manifest, sent)
}

/// Tables a database's catalog lists (not the migration table), read without the backup code.
async fn catalog_tables(url: &str) -> BTreeSet<String> {
    match Backend::of_url(url) {
        Some(Backend::Postgres) => {
            let pool = sqlx::PgPool::connect(url).await.unwrap();
            let names: Vec<String> = sqlx::query_scalar(
                "SELECT tablename::text FROM pg_tables WHERE schemaname = current_schema() AND tablename <> '_sqlx_migrations'",
            )
            .fetch_all(&pool)
            .await
            .unwrap();
            pool.close().await;
            names.into_iter().collect()
        }
        _ => {
            let pool = sqlx::SqlitePool::connect(url).await.unwrap();
            let names: Vec<String> = sqlx::query_scalar(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> '_sqlx_migrations'",
            )
            .fetch_all(&pool)
            .await
            .unwrap();
            pool.close().await;
            names.into_iter().collect()
        }
    }
}

async fn user_names(url: &str) -> Vec<String> {
    const SQL: &str = "SELECT name FROM users ORDER BY id";
    match Backend::of_url(url) {
        Some(Backend::Postgres) => {
            let pool = sqlx::PgPool::connect(url).await.unwrap();
            let names = sqlx::query_scalar(SQL).fetch_all(&pool).await.unwrap();
            pool.close().await;
            names
        }
        _ => {
            let pool = sqlx::SqlitePool::connect(url).await.unwrap();
            let names = sqlx::query_scalar(SQL).fetch_all(&pool).await.unwrap();
            pool.close().await;
            names
        }
    }
}

/// Every table's rows as sorted JSON lines, flags as integers (SQLite's form), keyed by column
/// names so column order does not matter.
fn table_contents(archive: &Path) -> BTreeMap<String, Vec<String>> {
    let verified = open_verified(archive).unwrap();
    let mut tables = BTreeMap::new();
    for table in &verified.manifest.tables {
        let mut rows: Vec<String> = verified
            .rows(&table.name)
            .unwrap()
            .map(|row| {
                let cells: BTreeMap<&str, serde_json::Value> = table
                    .columns
                    .iter()
                    .map(String::as_str)
                    .zip(row.unwrap().into_iter().map(|v| match v {
                        Value::Bool(b) => Value::Int(b.into()).to_json(),
                        other => other.to_json(),
                    }))
                    .collect();
                serde_json::to_string(&cells).unwrap()
            })
            .collect();
        rows.sort();
        assert_eq!(
            rows.len() as u64,
            table.rows,
            "{}: row count in the manifest",
            table.name
        );
        tables.insert(table.name.clone(), rows);
    }
    tables
}

/// A fresh target of `backend`: its database URL and data directory.
async fn fresh_target(backend: Backend) -> (Target, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let database_url = match backend {
        Backend::Postgres => TempPostgres::shared().create_database().await,
        Backend::Sqlite => format!("sqlite://{}/opencoder.db", dir.path().display()),
    };
    (
        Target {
            database_url,
            data_dir: dir.path().to_path_buf(),
        },
        dir,
    )
}

async fn playback(
    app: &TestApp,
    user: &TestUser,
    slug: &str,
    recording: i64,
    t: i64,
) -> serde_json::Value {
    let r = app
        .get(
            &format!("/api/pads/{slug}/recordings/{recording}/state?t={t}"),
            Some(&user.token),
        )
        .await;
    assert_eq!(r.status, 200, "state at {t}: {:?}", r.body);
    r.body
}

/// Restore `archive` into a fresh `backend` target and compare it with the source in every way.
async fn restore_and_compare(filled: &Filled, archive: &Path, sent: usize, backend: Backend) {
    let (target, dir) = fresh_target(backend).await;
    let restored = opencoder::backup::restore(archive, &target, false)
        .await
        .unwrap();
    assert!(restored.audit_rows > 0);

    // Table by table, row by row: a backup of the restored database holds what the archive held.
    let again = dir.path().join("again.tar.gz");
    let db = Db::connect(&target.database_url).await.unwrap();
    opencoder::backup::create(&db, dir.path(), &[], &again)
        .await
        .unwrap();
    let verification = opencoder::audit::cli::verify(&db).await.unwrap();
    assert_eq!(verification.broken, None);
    assert_eq!(verification.rows, restored.audit_rows);
    db.close().await;
    assert_eq!(
        table_contents(&again),
        table_contents(archive),
        "restored into {backend:?}"
    );
    assert_eq!(
        catalog_tables(&target.database_url).await,
        table_contents(archive).keys().cloned().collect()
    );

    let dir_text = target.data_dir.display().to_string();
    let app = TestApp::spawn_with(&[
        ("DATA_DIR", dir_text.as_str()),
        ("DATABASE_URL", target.database_url.as_str()),
    ])
    .await;
    // The pad's text is the source's at one instant of the typing: what was there before, then
    // the first k of the edits sent meanwhile, in order.
    let text = file_text(&app, &filled.owner, &filled.slug, &filled.file).await;
    let typed = text
        .strip_prefix(&filled.text_before_backup)
        .unwrap_or_else(|| panic!("restored text lost history: {text:?}"));
    let lines: Vec<&str> = typed.lines().collect();
    assert!(
        !lines.is_empty() && lines.len() < sent,
        "the snapshot fell between edits: {} of {sent}",
        lines.len()
    );
    for (i, line) in lines.iter().enumerate() {
        assert_eq!(
            *line,
            format!("e{i}"),
            "the snapshot holds a prefix of the edits"
        );
    }
    // Playback at several instants matches the source's.
    let (start, end) = filled.window;
    for step in 0..=4 {
        let t = start + (end - start) * step / 4;
        assert_eq!(
            playback(&app, &filled.owner, &filled.slug, filled.recording, t).await,
            playback(
                &filled.app,
                &filled.owner,
                &filled.slug,
                filled.recording,
                t
            )
            .await,
            "playback at {t} on {backend:?}"
        );
    }
    // The interview's private notes came along, still only behind the notes socket.
    let (notes, notes_file) =
        collab_support::notes_peer(&app.base, &filled.interview, &filled.owner.token).await;
    assert_eq!(notes.text(&notes_file), NOTES);
    // The signing secret came along (old tokens still work) and a user signs in by recovery key.
    let me = app.get("/api/auth/me", Some(&filled.owner.token)).await;
    assert_eq!(me.status, 200);
    assert_eq!(me.body["user"]["name"], "Ada");
    let recovered = app
        .post(
            "/api/auth/recover",
            None,
            json!({ "recoveryKey": filled.owner.recovery_key }),
        )
        .await;
    assert_eq!(recovered.status, 200, "{:?}", recovered.body);
    // New rows get fresh ids after the restored ones (PostgreSQL sequences were reset).
    let newcomer = app.signup("Erin").await;
    let pad = app
        .create_pad(
            &newcomer,
            json!({ "title": "after restore", "language": "python" }),
        )
        .await;
    assert!(pad["pad"]["id"].as_i64().is_some());
}

async fn round_trip(source: Option<&str>, targets: &[Backend]) {
    let filled = fill(source).await;
    let out = filled.data_dir.path().join("backup.tar.gz");
    let (manifest, sent) = backup_while_editing(&filled, &out).await;
    assert!(
        sent > 10,
        "the typing went on around the backup ({sent} edits)"
    );
    // Every table of the schema is in the archive, and the filled ones are not empty.
    let listed: BTreeSet<String> = manifest.tables.iter().map(|t| t.name.clone()).collect();
    assert_eq!(
        listed,
        catalog_tables(&filled.database_url).await,
        "every table of the schema is backed up"
    );
    let rows: BTreeMap<&str, u64> = manifest
        .tables
        .iter()
        .map(|t| (t.name.as_str(), t.rows))
        .collect();
    for table in [
        "users",
        "pads",
        "pad_members",
        "pad_files",
        "invites",
        "pad_removals",
        "doc_updates",
        "doc_checkpoints",
        "chat_messages",
        "runs",
        "recordings",
        "recording_checkpoints",
        "recording_segments",
        "pad_events",
        "audit_log",
        "server_settings",
    ] {
        assert!(
            rows[table] > 0,
            "{table} is empty in the backup: the fill does not cover it"
        );
    }
    assert_eq!(manifest.files, ["jwt_secret", "node_id"]);
    for backend in targets {
        restore_and_compare(&filled, &out, sent, *backend).await;
    }
}

#[tokio::test]
async fn sqlite_backup_taken_during_edits_restores_into_sqlite_and_postgres() {
    round_trip(None, &[Backend::Sqlite, Backend::Postgres]).await;
}

#[tokio::test]
async fn postgres_backup_taken_during_edits_restores_into_sqlite_and_postgres() {
    let url = TempPostgres::shared().create_database().await;
    round_trip(Some(&url), &[Backend::Sqlite, Backend::Postgres]).await;
}

// ---------------------------------------------------------------------------------------------
// Attacks: each refused before anything is written to the target.

/// A small server's backup (SQLite): two users, a pad, the audit rows.
async fn small_backup(dir: &Path) -> PathBuf {
    let (app, data_dir, url) = server(None).await;
    let ada = app.signup("Ada").await;
    app.create_pad(&ada, json!({ "title": "small", "language": "python" }))
        .await;
    let out = dir.join("small.tar.gz");
    let db = Db::connect(&url).await.unwrap();
    opencoder::backup::create(&db, data_dir.path(), &["jwt_secret", "node_id"], &out)
        .await
        .unwrap();
    db.close().await;
    out
}

/// The archive's members, in order, as (name, bytes).
fn members(archive: &Path) -> Vec<(String, Vec<u8>)> {
    let file = std::fs::File::open(archive).unwrap();
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(file));
    tar.entries()
        .unwrap()
        .map(|entry| {
            let mut entry = entry.unwrap();
            let name = String::from_utf8(entry.path_bytes().into_owned()).unwrap();
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes).unwrap();
            (name, bytes)
        })
        .collect()
}

/// Write `members` as an archive; names go into the header as raw bytes, so hostile names the
/// tar library would refuse to write (`../x`) can be planted.
fn write_members(path: &Path, members: &[(String, Vec<u8>)]) {
    let file = std::fs::File::create(path).unwrap();
    let mut tar = tar::Builder::new(flate2::write::GzEncoder::new(
        file,
        flate2::Compression::default(),
    ));
    for (name, bytes) in members {
        let mut header = tar::Header::new_gnu();
        let raw = name.as_bytes();
        header.as_old_mut().name[..raw.len()].copy_from_slice(raw);
        header.set_size(bytes.len() as u64);
        header.set_mode(0o600);
        header.set_entry_type(tar::EntryType::Regular);
        header.set_cksum();
        tar.append(&header, bytes.as_slice()).unwrap();
    }
    tar.into_inner().unwrap().finish().unwrap().flush().unwrap();
}

/// A copy of `archive` at `out` with its members and manifest changed by `edit` (the manifest is
/// written back as `edit` left it).
fn rewrite(
    archive: &Path,
    out: &Path,
    edit: impl FnOnce(&mut Vec<(String, Vec<u8>)>, &mut serde_json::Value),
) {
    let mut all = members(archive);
    let at = all
        .iter()
        .position(|(name, _)| name == "manifest.json")
        .unwrap();
    let (_, bytes) = all.remove(at);
    let mut manifest: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    edit(&mut all, &mut manifest);
    all.push((
        "manifest.json".into(),
        serde_json::to_vec(&manifest).unwrap(),
    ));
    write_members(out, &all);
}

/// A target that does not exist yet, and a check that nothing was written to it.
struct Untouched {
    _dir: tempfile::TempDir,
    target: Target,
}

impl Untouched {
    fn new() -> Untouched {
        let dir = tempfile::tempdir().unwrap();
        let data_dir = dir.path().join("data");
        let target = Target {
            database_url: format!("sqlite://{}/opencoder.db", data_dir.display()),
            data_dir,
        };
        Untouched { _dir: dir, target }
    }

    async fn refuses(&self, archive: &Path) -> BackupError {
        let err = opencoder::backup::restore(archive, &self.target, true)
            .await
            .expect_err("the archive must be refused");
        assert!(
            !self.target.data_dir.exists(),
            "nothing may be written before the archive is verified: {err}"
        );
        err
    }
}

#[tokio::test]
async fn a_tampered_archive_is_refused_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let archive = small_backup(dir.path()).await;

    // One byte of a table changed, the archive otherwise well formed: its checksum gives it away.
    let mut changed = members(&archive);
    let (name, bytes) = changed
        .iter_mut()
        .find(|(name, _)| name == "tables/users.jsonl")
        .unwrap();
    let at = bytes.iter().position(|b| *b == b'A').expect("Ada's name");
    bytes[at] = b'E';
    let name = name.clone();
    let tampered = dir.path().join("tampered.tar.gz");
    write_members(&tampered, &changed);
    match Untouched::new().refuses(&tampered).await {
        BackupError::Checksum { member } => assert_eq!(member, name),
        other => panic!("expected a checksum mismatch, got {other}"),
    }

    // One byte of the compressed file changed.
    let mut raw = std::fs::read(&archive).unwrap();
    let middle = raw.len() / 2;
    raw[middle] ^= 0x55;
    let flipped = dir.path().join("flipped.tar.gz");
    std::fs::write(&flipped, raw).unwrap();
    Untouched::new().refuses(&flipped).await;

    // A member dropped, and one added that the manifest does not list.
    let all = members(&archive);
    let without: Vec<_> = all
        .iter()
        .filter(|(name, _)| name != "tables/pads.jsonl")
        .cloned()
        .collect();
    let missing = dir.path().join("missing.tar.gz");
    write_members(&missing, &without);
    assert!(matches!(
        Untouched::new().refuses(&missing).await,
        BackupError::BadArchive(_)
    ));
    let mut extra = all.clone();
    extra.insert(0, ("tables/intruders.jsonl".into(), b"[1]\n".to_vec()));
    let added = dir.path().join("added.tar.gz");
    write_members(&added, &extra);
    assert!(matches!(
        Untouched::new().refuses(&added).await,
        BackupError::BadArchive(_)
    ));
}

#[tokio::test]
async fn hostile_member_names_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let archive = small_backup(dir.path()).await;
    let outside = dir.path().join("escaped");
    for name in [
        "../escaped",
        "/tmp/escaped",
        "tables/../../escaped.jsonl",
        "files/../../escaped",
        "files/opencoder.db",
    ] {
        let mut planted = members(&archive);
        planted.insert(0, (name.to_string(), b"pwned".to_vec()));
        let hostile = dir.path().join("hostile.tar.gz");
        write_members(&hostile, &planted);
        match Untouched::new().refuses(&hostile).await {
            BackupError::BadArchive(why) => {
                assert!(why.contains("not one a backup writes"), "{name}: {why}")
            }
            other => panic!("{name}: expected a refused member name, got {other}"),
        }
        assert!(
            !outside.exists() && !Path::new("/tmp/escaped").exists(),
            "{name} was written"
        );
    }
}

#[tokio::test]
async fn an_archive_from_a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let archive = small_backup(dir.path()).await;
    let path = dir.path().join("newer.tar.gz");
    rewrite(&archive, &path, |_, manifest| {
        manifest["schemaVersion"] = json!(9999)
    });
    match Untouched::new().refuses(&path).await {
        BackupError::NewerSchema { version, .. } => assert_eq!(version, 9999),
        other => panic!("expected a newer schema refusal, got {other}"),
    }
    // SQLite's migrations skip 0002: an archive claiming it was not made by opencoder.
    let path = dir.path().join("unknown.tar.gz");
    rewrite(&archive, &path, |_, manifest| {
        manifest["schemaVersion"] = json!(2)
    });
    match Untouched::new().refuses(&path).await {
        BackupError::BadArchive(why) => assert!(why.contains("schema version 2"), "{why}"),
        other => panic!("expected an unknown schema version to be refused, got {other}"),
    }
}

#[tokio::test]
async fn a_non_empty_target_is_refused_unless_forced_and_force_replaces_it() {
    let dir = tempfile::tempdir().unwrap();
    let archive = small_backup(dir.path()).await;
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let (target, _target_dir) = fresh_target(backend).await;
        // A server already ran there: other users, other pads.
        let dir_text = target.data_dir.display().to_string();
        let app = TestApp::spawn_with(&[
            ("DATA_DIR", dir_text.as_str()),
            ("DATABASE_URL", target.database_url.as_str()),
        ])
        .await;
        let zed = app.signup("Zed").await;
        app.create_pad(&zed, json!({ "title": "theirs", "language": "python" }))
            .await;
        app.state.db.close().await;
        drop(app);

        let err = opencoder::backup::restore(&archive, &target, false)
            .await
            .expect_err("a non-empty target is refused");
        assert!(
            matches!(err, BackupError::TargetNotEmpty(_)),
            "{backend:?}: {err}"
        );
        assert_eq!(
            user_names(&target.database_url).await,
            ["Zed"],
            "the refused restore left the target as it was"
        );

        opencoder::backup::restore(&archive, &target, true)
            .await
            .unwrap();
        assert_eq!(
            user_names(&target.database_url).await,
            ["Ada"],
            "{backend:?}: --force replaced the target"
        );
        let app = TestApp::spawn_with(&[
            ("DATA_DIR", dir_text.as_str()),
            ("DATABASE_URL", target.database_url.as_str()),
        ])
        .await;
        let signed_up = app
            .post("/api/auth/guest", None, json!({ "name": "Bea" }))
            .await;
        assert_eq!(signed_up.status, 201, "{:?}", signed_up.body);
    }
}

#[tokio::test]
async fn an_archive_whose_audit_chain_is_broken_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let archive = small_backup(dir.path()).await;
    // A backup of a database whose audit row was rewritten behind the triggers' back: the
    // checksums are right (they were taken of what was there), the chain is not.
    let path = dir.path().join("broken-chain.tar.gz");
    rewrite(&archive, &path, |members, manifest| {
        let (_, audit) = members
            .iter_mut()
            .find(|(name, _)| name == "tables/audit_log.jsonl")
            .unwrap();
        let text = String::from_utf8(audit.clone()).unwrap();
        assert!(text.contains("user.signup"));
        *audit = text.replacen("user.signup", "user.signux", 1).into_bytes();
        let sha = {
            use sha2::Digest;
            hex::encode(sha2::Sha256::digest(&*audit))
        };
        manifest["members"]["tables/audit_log.jsonl"] =
            json!({ "bytes": audit.len(), "sha256": sha });
    });
    match Untouched::new().refuses(&path).await {
        BackupError::AuditBroken { id, .. } => assert_eq!(id, 1),
        other => panic!("expected a broken chain, got {other}"),
    }
}

#[tokio::test]
async fn an_oversized_manifest_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let archive = small_backup(dir.path()).await;
    let path = dir.path().join("padded.tar.gz");
    rewrite(&archive, &path, |_, manifest| {
        manifest["padding"] = json!("x".repeat(opencoder::backup::MAX_MANIFEST_BYTES as usize));
    });
    match Untouched::new().refuses(&path).await {
        BackupError::BadArchive(why) => assert!(why.contains("manifest is larger than"), "{why}"),
        other => panic!("expected an oversized manifest to be refused, got {other}"),
    }
}
