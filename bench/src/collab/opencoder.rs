//! The opencoder side of the collab benchmark's setup: users, pads, memberships.

use hyper::Method;
use std::collections::HashMap;

use anyhow::Context;

use serde_json::json;

use super::{CollabArgs, CONNECTIONS_PER_USER};
use crate::setup_api::{authority_of, call};

/// Sign up enough users (each holds at most `CONNECTIONS_PER_USER` sockets), create the pads and
/// make every user a member of the pads it connects to. Returns, per pad, the socket path, each
/// client's subprotocol header and the root its typists type into (the starter file's).
pub(super) async fn opencoder_setup(
    args: &CollabArgs,
) -> anyhow::Result<Vec<(String, Vec<Option<String>>, String)>> {
    let authority = authority_of(&args.urls[0])?;
    let per_pad = args.typists + args.watchers;
    let total = args.pads * per_pad;
    let users_needed = total.div_ceil(CONNECTIONS_PER_USER);
    let mut tokens = Vec::with_capacity(users_needed);
    for i in 0..users_needed {
        let body = call(
            &authority,
            Method::POST,
            "/api/auth/guest",
            None,
            Some(json!({ "name": format!("bench {i}") })),
        )
        .await?;
        tokens.push(
            body["token"]
                .as_str()
                .context("sign-up returned no token")?
                .to_string(),
        );
    }
    let mut rooms = Vec::with_capacity(args.pads);
    let mut invites: HashMap<usize, String> = HashMap::new();
    let mut connection = 0;
    for pad in 0..args.pads {
        let owner = connection / CONNECTIONS_PER_USER;
        let created = call(
            &authority,
            Method::POST,
            "/api/pads",
            Some(&tokens[owner]),
            Some(json!({ "title": format!("bench {pad}"), "language": "python" })),
        )
        .await?;
        let slug = created["pad"]["slug"]
            .as_str()
            .context("pad without slug")?
            .to_string();
        let starter = created["files"][0]["id"]
            .as_i64()
            .context("pad without a starter file")?;
        invites.clear();
        let mut protocols = Vec::with_capacity(per_pad);
        for _ in 0..per_pad {
            let user = connection / CONNECTIONS_PER_USER;
            if user != owner && !invites.contains_key(&user) {
                let invite = call(
                    &authority,
                    Method::POST,
                    &format!("/api/pads/{slug}/invites"),
                    Some(&tokens[owner]),
                    Some(json!({ "role": "collaborator" })),
                )
                .await?;
                let token = invite["invite"]["token"]
                    .as_str()
                    .context("invite without token")?
                    .to_string();
                call(
                    &authority,
                    Method::POST,
                    &format!("/api/invites/{token}/accept"),
                    Some(&tokens[user]),
                    Some(json!({})),
                )
                .await?;
                invites.insert(user, token);
            }
            protocols.push(Some(format!("opencoder.v1, oc.bearer.{}", tokens[user])));
            connection += 1;
        }
        rooms.push((
            format!("/ws/pad/{slug}"),
            protocols,
            format!("file:{starter}"),
        ));
    }
    Ok(rooms)
}
