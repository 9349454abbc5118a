//! Pads and files over real HTTP (SPEC §3): creation, listing, changes, files and their limits,
//! and the inputs an attacker would try.

mod common;

use common::{TestApp, TestUser};
use opencoder::db::{FileId, PadId};
use reqwest::Method;
use serde_json::{json, Value};

const SLUG_ALPHABET: &str = "abcdefghijkmnpqrstuvwxyz23456789";

fn slug_of(body: &Value) -> String {
    body["pad"]["slug"].as_str().unwrap().to_string()
}

async fn file_content(app: &TestApp, user: &TestUser, slug: &str, file_id: i64) -> String {
    let r = app
        .get(
            &format!("/api/pads/{slug}/files/{file_id}"),
            Some(&user.token),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    r.body["content"].as_str().unwrap().to_string()
}

async fn create_file(app: &TestApp, user: &TestUser, slug: &str, body: Value) -> common::Resp {
    app.post(&format!("/api/pads/{slug}/files"), Some(&user.token), body)
        .await
}

#[tokio::test]
async fn a_new_pad_has_an_unguessable_slug_an_owner_and_a_starter_file() {
    let app = TestApp::spawn().await;
    let ada = app.signup("Ada").await;
    let body = app.create_pad(&ada, json!({})).await;

    let slug = slug_of(&body);
    assert_eq!(slug.len(), 14, "{slug}");
    assert!(slug.chars().all(|c| SLUG_ALPHABET.contains(c)), "{slug}");
    assert_ne!(slug, slug_of(&app.create_pad(&ada, json!({})).await));
    assert_eq!(body["myRole"], "owner");
    assert_eq!(body["pad"]["title"], "Python 3 pad");
    assert_eq!(body["pad"]["language"], "python");
    assert_eq!(body["pad"]["kind"], "sandbox");
    assert_eq!(body["pad"]["hasPassword"], false);
    assert_eq!(body["pad"]["ownerId"], ada.id);

    let files = body["files"].as_array().unwrap();
    assert_eq!(files.len(), 1);
    assert_eq!(files[0]["name"], "main.py");
    assert_eq!(files[0]["language"], "python");
    let content = file_content(&app, &ada, &slug, files[0]["id"].as_i64().unwrap()).await;
    assert_eq!(content, "print(\"Hello, world!\")\n");
}

#[tokio::test]
async fn languages_resolve_aliases_and_pick_their_starter_files() {
    let app = TestApp::spawn().await;
    let ada = app.signup("Ada").await;
    for (asked, id, file) in [
        ("golang", "go", "main.go"),
        ("java", "java", "Main.java"),
        ("TS", "typescript", "main.ts"),
        ("c++", "cpp", "main.cpp"),
        ("rust", "rust", "main.rs"),
        ("c", "c", "main.c"),
        ("rb", "ruby", "main.rb"),
        ("cs", "csharp", "main.cs"),
        ("node", "javascript", "main.js"),
    ] {
        let body = app.create_pad(&ada, json!({ "language": asked })).await;
        assert_eq!(body["pad"]["language"], id, "{asked}");
        assert_eq!(body["files"][0]["name"], file, "{asked}");
        assert_eq!(body["files"][0]["language"], id, "{asked}");
        let slug = slug_of(&body);
        let content =
            file_content(&app, &ada, &slug, body["files"][0]["id"].as_i64().unwrap()).await;
        assert!(content.contains("Hello, world!"), "{asked}: {content}");
    }
    let body = app
        .create_pad(
            &ada,
            json!({ "title": "  Two sum  ", "kind": "interview", "language": "go" }),
        )
        .await;
    assert_eq!(body["pad"]["title"], "Two sum");
    assert_eq!(body["pad"]["kind"], "interview");

    for (bad, code) in [
        (json!({ "language": "cobol" }), "invalid_language"),
        (json!({ "title": "   " }), "invalid_title"),
        (json!({ "title": "t".repeat(121) }), "invalid_title"),
        (json!({ "title": "a\u{202e}b" }), "invalid_title"),
        (json!({ "kind": "party" }), "invalid_kind"),
    ] {
        let r = app.post("/api/pads", Some(&ada.token), bad.clone()).await;
        assert_eq!(r.status, 400, "{bad}");
        assert_eq!(r.body["error"], code, "{bad}");
    }
    assert_eq!(app.post("/api/pads", None, json!({})).await.status, 401);
}

#[tokio::test]
async fn the_list_shows_every_membership_newest_first_with_roles() {
    let app = TestApp::spawn().await;
    let ada = app.signup("Ada").await;
    let bob = app.signup("Bob").await;
    let first = slug_of(&app.create_pad(&ada, json!({ "title": "first" })).await);
    let second = slug_of(&app.create_pad(&ada, json!({ "title": "second" })).await);
    let bobs = slug_of(&app.create_pad(&bob, json!({ "title": "bob's" })).await);
    app.add_member(&bob, &bobs, &ada, "viewer").await;

    let r = app.get("/api/pads", Some(&ada.token)).await;
    assert_eq!(r.status, 200);
    let pads = r.body["pads"].as_array().unwrap();
    let listed: Vec<(&str, &str)> = pads
        .iter()
        .map(|p| (p["slug"].as_str().unwrap(), p["myRole"].as_str().unwrap()))
        .collect();
    assert_eq!(
        listed,
        vec![
            (bobs.as_str(), "viewer"),
            (second.as_str(), "owner"),
            (first.as_str(), "owner")
        ]
    );
    assert_eq!(pads[0]["title"], "bob's");

    let r = app.get("/api/pads", Some(&bob.token)).await;
    assert_eq!(r.body["pads"].as_array().unwrap().len(), 1);
    assert_eq!(app.get("/api/pads", None).await.status, 401);
}

#[tokio::test]
async fn a_pad_shows_its_files_members_and_the_callers_role() {
    let app = TestApp::spawn().await;
    let ada = app.signup("Ada").await;
    let bob = app.signup("Bob").await;
    let slug = slug_of(&app.create_pad(&ada, json!({})).await);
    app.add_member(&ada, &slug, &bob, "collaborator").await;

    let r = app
        .get(&format!("/api/pads/{slug}"), Some(&bob.token))
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["myRole"], "collaborator");
    assert_eq!(r.body["files"].as_array().unwrap().len(), 1);
    let members = r.body["members"].as_array().unwrap();
    assert_eq!(members.len(), 2);
    assert_eq!(members[0]["userId"], ada.id);
    assert_eq!(members[0]["name"], "Ada");
    assert_eq!(members[0]["role"], "owner");
    assert_eq!(members[1]["name"], "Bob");
    assert_eq!(members[1]["role"], "collaborator");
    assert!(members[1]["joinedAt"].is_string());

    let r = app
        .get(&format!("/api/pads/{slug}/members"), Some(&bob.token))
        .await;
    assert_eq!(r.body["members"].as_array().unwrap().len(), 2);

    // A member renamed later shows the new name: names come from the users table.
    app.patch(
        "/api/auth/me",
        Some(&bob.token),
        json!({ "name": "Robert" }),
    )
    .await;
    let r = app
        .get(&format!("/api/pads/{slug}/members"), Some(&ada.token))
        .await;
    assert_eq!(r.body["members"][1]["name"], "Robert");
}

#[tokio::test]
async fn the_owner_changes_title_language_and_kind() {
    let app = TestApp::spawn().await;
    let ada = app.signup("Ada").await;
    let bob = app.signup("Bob").await;
    let slug = slug_of(&app.create_pad(&ada, json!({})).await);
    app.add_member(&ada, &slug, &bob, "collaborator").await;

    let r = app
        .patch(
            &format!("/api/pads/{slug}"),
            Some(&ada.token),
            json!({ "title": " Renamed ", "language": "golang", "kind": "interview" }),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["pad"]["title"], "Renamed");
    assert_eq!(r.body["pad"]["language"], "go");
    assert_eq!(r.body["pad"]["kind"], "interview");

    let r = app
        .patch(
            &format!("/api/pads/{slug}"),
            Some(&ada.token),
            json!({ "title": "Only title" }),
        )
        .await;
    assert_eq!(r.body["pad"]["title"], "Only title");
    assert_eq!(r.body["pad"]["language"], "go");

    for bad in [
        json!({ "language": "klingon" }),
        json!({ "kind": "x" }),
        json!({ "title": "" }),
    ] {
        assert_eq!(
            app.patch(&format!("/api/pads/{slug}"), Some(&ada.token), bad.clone())
                .await
                .status,
            400,
            "{bad}"
        );
    }
    let r = app
        .patch(
            &format!("/api/pads/{slug}"),
            Some(&bob.token),
            json!({ "title": "mine" }),
        )
        .await;
    assert_eq!(r.status, 403);
    assert_eq!(r.body["error"], "forbidden");
    let r = app
        .get(&format!("/api/pads/{slug}"), Some(&ada.token))
        .await;
    assert_eq!(r.body["pad"]["title"], "Only title");
}

#[tokio::test]
async fn the_owner_deletes_a_pad_and_it_is_gone_for_everyone() {
    let app = TestApp::spawn().await;
    let ada = app.signup("Ada").await;
    let bob = app.signup("Bob").await;
    let slug = slug_of(&app.create_pad(&ada, json!({})).await);
    app.add_member(&ada, &slug, &bob, "collaborator").await;

    assert_eq!(
        app.delete(&format!("/api/pads/{slug}"), Some(&bob.token))
            .await
            .status,
        403
    );
    let r = app
        .delete(&format!("/api/pads/{slug}"), Some(&ada.token))
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["ok"], true);
    assert_eq!(
        app.get(&format!("/api/pads/{slug}"), Some(&ada.token))
            .await
            .status,
        404
    );
    assert_eq!(
        app.get(&format!("/api/pads/{slug}"), Some(&bob.token))
            .await
            .status,
        404
    );
    assert!(app.get("/api/pads", Some(&bob.token)).await.body["pads"]
        .as_array()
        .unwrap()
        .is_empty());
    let rows = app.audit_rows("pad.delete").await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].0, Some(ada.id));
    assert_eq!(rows[0].1.as_deref(), Some(slug.as_str()));
}

#[tokio::test]
async fn files_are_created_renamed_relanguaged_and_deleted() {
    let app = TestApp::spawn().await;
    let ada = app.signup("Ada").await;
    let body = app.create_pad(&ada, json!({})).await;
    let slug = slug_of(&body);
    let pad_id = PadId(body["pad"]["id"].as_i64().unwrap());
    let main_id = body["files"][0]["id"].as_i64().unwrap();

    // Language: explicit (alias resolved), else from the extension, else the pad's.
    let r = create_file(
        &app,
        &ada,
        &slug,
        json!({ "name": "util.js", "content": "export const x = 1;\n" }),
    )
    .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    assert_eq!(r.body["file"]["language"], "javascript");
    let util_id = r.body["file"]["id"].as_i64().unwrap();
    assert_eq!(
        file_content(&app, &ada, &slug, util_id).await,
        "export const x = 1;\n"
    );
    let r = create_file(&app, &ada, &slug, json!({ "name": "notes.txt" })).await;
    assert_eq!(r.body["file"]["language"], "python");
    assert_eq!(
        file_content(&app, &ada, &slug, r.body["file"]["id"].as_i64().unwrap()).await,
        ""
    );
    let r = create_file(
        &app,
        &ada,
        &slug,
        json!({ "name": "types.d", "language": "ts" }),
    )
    .await;
    assert_eq!(r.body["file"]["language"], "typescript");
    let types_id = r.body["file"]["id"].as_i64().unwrap();
    let r = create_file(
        &app,
        &ada,
        &slug,
        json!({ "name": "x.py", "language": "cobol" }),
    )
    .await;
    assert_eq!(
        (r.status.as_u16(), r.body["error"].as_str()),
        (400, Some("invalid_language"))
    );

    // Duplicate names conflict.
    let r = create_file(&app, &ada, &slug, json!({ "name": "util.js" })).await;
    assert_eq!(r.status, 409);
    assert_eq!(r.body["error"], "name_taken");

    // Rename keeps the text (it is keyed by the file id); the language follows a recognised extension.
    let r = app
        .patch(
            &format!("/api/pads/{slug}/files/{util_id}"),
            Some(&ada.token),
            json!({ "name": "util.ts" }),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["file"]["name"], "util.ts");
    assert_eq!(r.body["file"]["language"], "typescript");
    assert_eq!(
        file_content(&app, &ada, &slug, util_id).await,
        "export const x = 1;\n"
    );
    let doc = app.state.docs.open(pad_id).await.unwrap();
    assert_eq!(
        doc.file_text(FileId(util_id)).await,
        "export const x = 1;\n"
    );

    // Renaming onto an existing name conflicts and changes nothing.
    let r = app
        .patch(
            &format!("/api/pads/{slug}/files/{util_id}"),
            Some(&ada.token),
            json!({ "name": "main.py" }),
        )
        .await;
    assert_eq!(r.status, 409);
    assert_eq!(r.body["error"], "name_taken");
    assert_eq!(
        file_content(&app, &ada, &slug, main_id).await,
        "print(\"Hello, world!\")\n"
    );
    assert_eq!(
        file_content(&app, &ada, &slug, util_id).await,
        "export const x = 1;\n"
    );

    // Language only.
    let r = app
        .patch(
            &format!("/api/pads/{slug}/files/{util_id}"),
            Some(&ada.token),
            json!({ "language": "js" }),
        )
        .await;
    assert_eq!(r.body["file"]["language"], "javascript");
    assert_eq!(r.body["file"]["name"], "util.ts");
    let r = app
        .patch(
            &format!("/api/pads/{slug}/files/{util_id}"),
            Some(&ada.token),
            json!({ "name": "../util.ts" }),
        )
        .await;
    assert_eq!(
        (r.status.as_u16(), r.body["error"].as_str()),
        (400, Some("invalid_file_name"))
    );

    let r = app
        .get(&format!("/api/pads/{slug}/files"), Some(&ada.token))
        .await;
    let names: Vec<&str> = r.body["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["main.py", "util.ts", "notes.txt", "types.d"]);

    // Delete clears the text; the last file stays.
    let r = app
        .delete(
            &format!("/api/pads/{slug}/files/{util_id}"),
            Some(&ada.token),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(doc.file_text(FileId(util_id)).await, "");
    assert_eq!(
        app.get(
            &format!("/api/pads/{slug}/files/{util_id}"),
            Some(&ada.token)
        )
        .await
        .status,
        404
    );
    assert_eq!(
        app.delete(
            &format!("/api/pads/{slug}/files/{util_id}"),
            Some(&ada.token)
        )
        .await
        .status,
        404
    );
    for id in [types_id] {
        assert_eq!(
            app.delete(&format!("/api/pads/{slug}/files/{id}"), Some(&ada.token))
                .await
                .status,
            200
        );
    }
    let notes_id = app
        .get(&format!("/api/pads/{slug}/files"), Some(&ada.token))
        .await
        .body["files"][1]["id"]
        .as_i64()
        .unwrap();
    assert_eq!(
        app.delete(
            &format!("/api/pads/{slug}/files/{notes_id}"),
            Some(&ada.token)
        )
        .await
        .status,
        200
    );
    let r = app
        .delete(
            &format!("/api/pads/{slug}/files/{main_id}"),
            Some(&ada.token),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.body["error"], "last_file");
    assert_eq!(
        file_content(&app, &ada, &slug, main_id).await,
        "print(\"Hello, world!\")\n"
    );

    // A deleted name can be reused and starts from the given content, not the old text.
    let r = create_file(&app, &ada, &slug, json!({ "name": "util.ts" })).await;
    assert_eq!(
        file_content(&app, &ada, &slug, r.body["file"]["id"].as_i64().unwrap()).await,
        ""
    );
}

#[tokio::test]
async fn file_ids_are_scoped_by_pad() {
    let app = TestApp::spawn().await;
    let ada = app.signup("Ada").await;
    let mine = app.create_pad(&ada, json!({})).await;
    let other = app.create_pad(&ada, json!({})).await;
    let (slug, other_file) = (slug_of(&mine), other["files"][0]["id"].as_i64().unwrap());
    let path = format!("/api/pads/{slug}/files/{other_file}");
    assert_eq!(app.get(&path, Some(&ada.token)).await.status, 404);
    assert_eq!(
        app.patch(&path, Some(&ada.token), json!({ "name": "x.py" }))
            .await
            .status,
        404
    );
    assert_eq!(app.delete(&path, Some(&ada.token)).await.status, 404);
    for junk in ["abc", "-1", "0", "99999999999999999999", "1%2F2"] {
        let r = app
            .get(&format!("/api/pads/{slug}/files/{junk}"), Some(&ada.token))
            .await;
        assert_eq!(r.status, 404, "{junk}");
        assert_eq!(r.body["error"], "not_found", "{junk}");
    }
    // The other pad's file is untouched.
    let r = app
        .get(
            &format!("/api/pads/{}/files/{other_file}", slug_of(&other)),
            Some(&ada.token),
        )
        .await;
    assert_eq!(r.body["file"]["name"], "main.py");
}

#[tokio::test]
async fn file_content_is_capped_at_512_kib() {
    let app = TestApp::spawn().await;
    let ada = app.signup("Ada").await;
    let slug = slug_of(&app.create_pad(&ada, json!({})).await);
    let max = opencoder::pads::MAX_FILE_BYTES;
    let r = create_file(
        &app,
        &ada,
        &slug,
        json!({ "name": "full.txt", "content": "a".repeat(max) }),
    )
    .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    assert_eq!(
        file_content(&app, &ada, &slug, r.body["file"]["id"].as_i64().unwrap())
            .await
            .len(),
        max
    );
    let r = create_file(
        &app,
        &ada,
        &slug,
        json!({ "name": "over.txt", "content": "a".repeat(max + 1) }),
    )
    .await;
    assert_eq!(r.status, 413);
    assert_eq!(r.body["error"], "payload_too_large");
    // Multi-byte characters count in bytes.
    let r = create_file(
        &app,
        &ada,
        &slug,
        json!({ "name": "wide.txt", "content": "é".repeat(max / 2 + 1) }),
    )
    .await;
    assert_eq!(r.status, 413);
    let files = app
        .get(&format!("/api/pads/{slug}/files"), Some(&ada.token))
        .await;
    assert_eq!(files.body["files"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn hostile_file_names_are_refused() {
    let app = TestApp::spawn().await;
    let ada = app.signup("Ada").await;
    let slug = slug_of(&app.create_pad(&ada, json!({})).await);
    let ten_kb = "a".repeat(10 * 1024);
    let hundred_and_one = "a".repeat(101);
    let attacks = [
        "../x",
        "a/b",
        "a\\b",
        ".env",
        "..",
        "a..b",
        "a\0b",
        "main\u{202e}yp.exe",
        ten_kb.as_str(),
        hundred_and_one.as_str(),
        "m\u{0430}in.py", // Cyrillic а
        "\u{FF4D}ain.py", // fullwidth m
        "",
        " ",
        "-rf",
        "a b.py",
        "/etc/passwd",
        "C:\\x",
        "x\n.py",
    ];
    for name in attacks {
        let r = create_file(&app, &ada, &slug, json!({ "name": name })).await;
        assert_eq!(r.status, 400, "{name:?}: {:?}", r.body);
        assert_eq!(r.body["error"], "invalid_file_name", "{name:?}");
        assert!(r.body["message"].is_string());
    }
    let r = create_file(&app, &ada, &slug, json!({ "name": "a".repeat(100) })).await;
    assert_eq!(r.status, 201, "a 100-character name is allowed");
    let files = app
        .get(&format!("/api/pads/{slug}/files"), Some(&ada.token))
        .await;
    assert_eq!(files.body["files"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn a_pad_holds_at_most_50_files() {
    let app = TestApp::spawn().await;
    let ada = app.signup("Ada").await;
    let slug = slug_of(&app.create_pad(&ada, json!({})).await);
    for i in 1..opencoder::pads::MAX_FILES_PER_PAD {
        let r = create_file(&app, &ada, &slug, json!({ "name": format!("f{i}.py") })).await;
        assert_eq!(r.status, 201, "file {i}: {:?}", r.body);
    }
    let r = create_file(&app, &ada, &slug, json!({ "name": "f51.py" })).await;
    assert_eq!(r.status, 409, "{:?}", r.body);
    assert_eq!(r.body["error"], "too_many_files");
    let files = app
        .get(&format!("/api/pads/{slug}/files"), Some(&ada.token))
        .await;
    assert_eq!(files.body["files"].as_array().unwrap().len(), 50);
}

#[tokio::test]
async fn malformed_bodies_get_400_with_a_code_and_a_message() {
    let app = TestApp::spawn().await;
    let ada = app.signup("Ada").await;
    let slug = slug_of(&app.create_pad(&ada, json!({})).await);
    let token = Some(ada.token.as_str());
    let json = Some("application/json");
    let files = format!("/api/pads/{slug}/files");

    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("/api/pads", b"{\"title\": ".to_vec()),
        ("/api/pads", b"not json".to_vec()),
        ("/api/pads", b"{\"title\": 5}".to_vec()),
        ("/api/pads", b"{\"title\": [\"a\"]}".to_vec()),
        ("/api/pads", b"[]".to_vec()),
        ("/api/pads", b"{\"title\": \"\xff\xfe\"}".to_vec()),
        (&files, b"{\"name\": 12}".to_vec()),
        (&files, b"{}".to_vec()),
        (
            &files,
            b"{\"name\": \"a.py\", \"content\": {\"x\": 1}}".to_vec(),
        ),
        (&files, b"{\"name\": \"a\xc0\x80.py\"}".to_vec()),
    ];
    for (path, body) in cases {
        let r = app
            .request_raw(Method::POST, path, token, json, body.clone())
            .await;
        assert_eq!(
            r.status,
            400,
            "{path} {:?}: {:?}",
            String::from_utf8_lossy(&body),
            r.body
        );
        assert!(r.body["error"].is_string(), "{:?}", r.body);
        assert!(r.body["message"].is_string(), "{:?}", r.body);
    }
    let r = app
        .request_raw(Method::POST, "/api/pads", token, None, b"{}".to_vec())
        .await;
    assert_eq!(r.status, 415);
    assert_eq!(r.body["error"], "unsupported_media_type");
    // Nothing was created along the way.
    assert_eq!(
        app.get("/api/pads", token).await.body["pads"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}
