//! Interviews (issue 13 §1–§4): the question bank, "Start interview", the interviewer's
//! switches, the waiting room, private notes and scorecards. What comes later (integrity markers,
//! drawing, take-homes) gets modules and tables of its own beside these.
//!
//! - `questions` (+ `store`) — the bank: limits, validation, co-editors; its SQL
//! - `start` — a question becomes an interview pad
//! - `switches` — lock, run, terminal, prompt, timer, end; what each blocks, and where
//! - `waiting_room` — candidates wait until an interviewer admits them
//! - `notes`, `notes::store` — the interviewers' private notes socket; the companion pad's SQL
//! - `scorecards`, `scorecards::store` — each interviewer's scorecard, anti-anchoring; its SQL
//! - `summary` — the debrief page and its Markdown export
//! - `integrity` — the candidate client's paste, large-insertion and focus reports (§5)
//! - `store` — the SQL of interviews and admissions
//! - `routes` — the HTTP handlers
//! - `test_cases`, `test_cases::store`, `test_cases::run` — a question's stdin/expected cases, their
//!   comparison modes and limits; their SQL; running them in the sandbox
//! - `test_cases::signature`, `test_cases::harness` — a question's function signature; the
//!   generated per-language harnesses that call it for function cases, their result channel and
//!   the structural JSON comparison
//! - `takehomes`, `takehomes::store`, `takehomes::routes` — take-home links, attempts, the deadline
//!   sweep and grading; their SQL; the HTTP handlers of tests and take-homes

pub mod integrity;
pub mod notes;
pub mod questions;
pub mod routes;
pub mod scorecards;
pub mod start;
pub mod store;
pub mod summary;
pub mod switches;
pub mod takehomes;
pub mod test_cases;
pub mod waiting_room;

pub use routes::router;
