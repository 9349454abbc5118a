//! Real-time collaboration (SPEC §4). One Yjs document per pad (via `yrs`); the text of the file
//! with id `N` is the root `Y.Text` named `file:N`; the whiteboard is the root `Y.Map` `whiteboard`.
//!
//! - `doc_store` — loaded documents (shared by REST and sockets), load = checkpoint + log tail
//! - `file_roots` — which roots an update may write, per-file size, re-keying old documents
//! - `whiteboard` — the root map `whiteboard` (Excalidraw elements), its bounds, fork and export
//! - `persist`   — the group-commit writer of the update log and checkpoints
//! - `room`      — one live pad: connections, fan-out, awareness
//! - `rooms`     — the registry of rooms, connection limits, domain events → sockets
//! - `session`   — one socket's protocol decisions, sans-IO
//! - `app`       — the dispatcher of opencoder's own (type 100) messages
//! - `chat`      — chat messages and their history endpoint
//! - `chat_store` — chat rows
//! - `limits`    — every named limit of the pad socket
//! - `settings`  — the `COLLAB_*` settings (flood window, history budget, log queue bytes)
//! - `store`     — the document log's SQL, member and file lists pushed to sockets
//! - `ws`        — the byte pump between an axum WebSocket and a session
//! - `routes`    — `/ws/pad/{slug}` and `/api/pads/{slug}/chat`

pub mod app;
pub mod chat;
pub mod chat_store;
pub mod doc_store;
pub mod file_roots;
pub mod limits;
pub mod owner_checkpoints;
pub mod persist;
pub mod room;
pub mod rooms;
pub mod routes;
pub mod session;
pub mod settings;
pub mod store;
pub mod whiteboard;
pub mod ws;

pub use doc_store::{file_key, get_text, set_text, DocError, DocStore, PadDoc};
pub use rooms::{spawn_background, Rooms};
pub use routes::router;
pub use session::SessionError;
pub use settings::CollabSettings;
