//! Interviews (issue 13 §1, §2, §4): the question bank, "Start interview", the interviewer's
//! switches, the waiting room and scorecards. What comes later (private notes, integrity markers,
//! drawing, take-homes) gets modules and tables of its own beside these.
//!
//! - `questions`, `questions_store` — the bank: limits, validation, co-editors; its SQL
//! - `start` — a question becomes an interview pad
//! - `switches` — lock, run, terminal, prompt, timer, end; what each blocks, and where
//! - `waiting_room` — candidates wait until an interviewer admits them
//! - `scorecards`, `scorecards_store` — each interviewer's scorecard, anti-anchoring; its SQL
//! - `summary` — the debrief page and its Markdown export
//! - `integrity` — the candidate client's paste, large-insertion and focus reports (§5)
//! - `store` — the SQL of interviews and admissions
//! - `routes` — the HTTP handlers

pub mod integrity;
pub mod questions;
pub mod questions_store;
pub mod routes;
pub mod scorecards;
pub mod scorecards_store;
pub mod start;
pub mod store;
pub mod summary;
pub mod switches;
pub mod waiting_room;

pub use routes::router;
