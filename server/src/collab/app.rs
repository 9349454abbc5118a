//! opencoder's own messages on the pad socket (SPEC §4, type 100): the dispatcher table.
//!
//! Every client→server app message type is registered once, here in `handlers()`, with a
//! handler of one shape: `(AppCtx, AppMessage) -> Result<(), AppMsgError>`. A handler answers the
//! sender with `ctx.reply`, reaches everyone with `ctx.room.broadcast_app`, and gets its own
//! per-connection rate limit with `ctx.take_token`. Server→client-only types (`run.started`,
//! `run.output`, `run.finished`, `files.changed`, …) need no registration: server code calls
//! `state.rooms.broadcast_app(pad, json)`.
//!
//! An unknown type is answered with an `error` message (not a close); a handler error becomes an
//! `error` message to the sender, unless it says to close the socket (`AppMsgError::close`: a
//! message of a known type that breaks its protocol). Registering a type twice panics at startup.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use oc_proto::AppMessage;
use serde_json::{json, Value};

use super::doc_store::ConnId;
use super::limits::TokenBucket;
use super::room::Room;
use super::session::{encode_app_value, SessionError};
use crate::db::UserId;
use crate::pads::roles::Role;
use crate::AppState;

/// An error answered to the sender as `{type:"error", code, message, re}`.
#[derive(Debug, Clone)]
pub struct AppMsgError {
    pub code: &'static str,
    pub message: String,
    pub retry_after: Option<Duration>,
    /// Close the sender's socket for this reason instead of answering.
    pub close: Option<SessionError>,
}

impl AppMsgError {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        AppMsgError {
            code,
            message: message.into(),
            retry_after: None,
            close: None,
        }
    }

    /// The sender broke the protocol: close its socket (with the code `error.rs` maps `reason`
    /// to) and answer nothing.
    pub fn close(reason: SessionError) -> Self {
        AppMsgError {
            code: "closed",
            message: reason.to_string(),
            retry_after: None,
            close: Some(reason),
        }
    }

    pub fn rate_limited(retry_after: Duration) -> Self {
        AppMsgError {
            code: "rate_limited",
            message: "too many messages; slow down".into(),
            retry_after: Some(retry_after),
            close: None,
        }
    }

    pub fn to_message(&self, re: &str) -> Value {
        let mut value =
            json!({ "type": "error", "code": self.code, "message": self.message, "re": re });
        if let Some(wait) = self.retry_after {
            value["retryAfterMs"] = json!(wait.as_millis().max(1) as u64);
        }
        value
    }
}

/// Per-connection token buckets a handler creates on first use, keyed by name.
pub type ConnBuckets = Arc<Mutex<HashMap<&'static str, TokenBucket>>>;

/// Everything a handler may use. The role is the caller's *current* role (checked this message).
#[derive(Clone)]
pub struct AppCtx {
    pub state: AppState,
    pub room: Arc<Room>,
    pub conn: ConnId,
    pub user: UserId,
    pub role: Role,
    pub buckets: ConnBuckets,
}

impl AppCtx {
    /// Send an app message to the sender only.
    pub fn reply(&self, message: &Value) {
        self.room
            .send_to(self.conn, Bytes::from(encode_app_value(message)));
    }

    /// Take a token from this connection's bucket `name` (`rate`/s, `burst`); `Err` says when
    /// to retry.
    pub fn take_token(&self, name: &'static str, rate: f64, burst: f64) -> Result<(), AppMsgError> {
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let bucket = buckets
            .entry(name)
            .or_insert_with(|| TokenBucket::new(rate, burst, now));
        if bucket.try_take(now) {
            Ok(())
        } else {
            Err(AppMsgError::rate_limited(bucket.wait_time()))
        }
    }
}

pub type HandlerFuture = Pin<Box<dyn Future<Output = Result<(), AppMsgError>> + Send>>;
pub type Handler = Arc<dyn Fn(AppCtx, AppMessage) -> HandlerFuture + Send + Sync>;

#[derive(Clone, Default)]
pub struct AppHandlers {
    map: HashMap<&'static str, Handler>,
}

impl AppHandlers {
    /// Register the handler of a client→server message type. Panics on a duplicate: two features
    /// claiming one type is a bug to catch at startup.
    pub fn register<F, Fut>(mut self, msg_type: &'static str, handler: F) -> Self
    where
        F: Fn(AppCtx, AppMessage) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), AppMsgError>> + Send + 'static,
    {
        let boxed: Handler = Arc::new(move |ctx, msg| Box::pin(handler(ctx, msg)));
        assert!(
            self.map.insert(msg_type, boxed).is_none(),
            "app message type {msg_type:?} registered twice"
        );
        self
    }

    pub fn types(&self) -> impl Iterator<Item = &&'static str> {
        self.map.keys()
    }

    /// Run the handler of `message`'s type; errors (and unknown types) are answered to the sender.
    /// Returns why the socket must close, when the handler said so.
    pub async fn dispatch(&self, ctx: AppCtx, message: AppMessage) -> Option<SessionError> {
        let msg_type = message.msg_type().to_string();
        let result = match self.map.get(msg_type.as_str()) {
            Some(handler) => handler(ctx.clone(), message).await,
            None => Err(AppMsgError::new(
                "unknown_type",
                format!("unknown app message type {msg_type:?}"),
            )),
        };
        match result {
            Ok(()) => None,
            Err(AppMsgError {
                close: Some(reason),
                ..
            }) => Some(reason),
            Err(err) => {
                ctx.reply(&err.to_message(&msg_type));
                None
            }
        }
    }
}

/// The protocol table: every client→server app message, once.
pub fn handlers() -> AppHandlers {
    AppHandlers::default()
        .register("chat", super::chat::handle)
        .register("run.stdin", crate::exec::console::handle_stdin)
        .register("run.eof", crate::exec::console::handle_eof)
        .register(
            oc_proto::INTEGRITY_TYPE,
            crate::interviews::integrity::handle,
        )
}
