//! Real-time collaboration (SPEC §4). One Yjs document per pad (via `yrs`); the text of file `F`
//! is the root `Y.Text` named `file:F`. `doc_store` owns loaded documents and their durable log.

pub mod doc_store;

pub use doc_store::{file_key, DocStore, PadDoc};
