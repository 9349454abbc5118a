//! The interview summary (issue 13 §4): one page for the debrief — the scorecards the caller may
//! see (the same anti-anchoring rule as `scorecards::list`), the final code, the run history and
//! the recordings to open in playback, the integrity timeline — as JSON and as a Markdown export.
//! Interviewers only.

use serde::Serialize;
use utoipa::ToSchema;

use super::integrity::{self, IntegrityTimeline};
use super::scorecards::{self, Recommendation, ScorecardView, ScorecardsView};
use super::switches;
use super::takehomes::{self, Grading};
use crate::db::UserId;
use crate::error::{AppError, AppResult};
use crate::exec::store::{self as runs_store, RunSummary};
use crate::pads::files_store;
use crate::pads::store::Pad;
use crate::recordings::store as recordings_store;
use crate::AppState;

/// Runs a summary lists: the pad's most recent ones.
pub const SUMMARY_RUNS: i64 = 50;

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SummaryFile {
    pub name: String,
    pub language: String,
    /// The file's text now (the final code once the interview has ended).
    pub content: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SummaryRecording {
    pub id: i64,
    pub name: String,
    pub started_at_ms: i64,
    pub ended_at_ms: Option<i64>,
    /// The web client's playback page for it.
    pub playback_path: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InterviewSummary {
    pub slug: String,
    pub title: String,
    pub language: String,
    pub ended_at_ms: Option<i64>,
    pub scorecards: ScorecardsView,
    pub files: Vec<SummaryFile>,
    /// The last `SUMMARY_RUNS` runs, oldest first, without their output.
    pub runs: Vec<RunSummary>,
    pub recordings: Vec<SummaryRecording>,
    /// The take-home's graded result, when the pad is a take-home.
    pub takehome: Option<Grading>,
    /// The candidate client's pastes, large insertions and focus changes.
    pub integrity: IntegrityTimeline,
}

/// The summary of the pad's interview as `user` may see it; 404 when the pad holds none.
pub async fn summary(state: &AppState, pad: &Pad, user: UserId) -> AppResult<InterviewSummary> {
    let interview = switches::find(state, pad.id).await?;
    let scorecards = scorecards::list(state, pad.id, user).await?;
    let rows = files_store::list(&state.db, pad.id).await?;
    let mut texts = state
        .docs
        .open(pad.id)
        .await
        .map_err(AppError::from)?
        .file_texts()
        .await;
    let files = rows
        .into_iter()
        .map(|row| SummaryFile {
            content: texts.remove(&row.id).unwrap_or_default(),
            name: row.name,
            language: row.language,
        })
        .collect();
    let runs = runs_store::recent_summaries(&state.db, pad.id, SUMMARY_RUNS).await?;
    let recordings = recordings_store::list_recordings(&state.db, pad.id)
        .await?
        .into_iter()
        .map(|r| SummaryRecording {
            playback_path: format!("/p/{}/recordings/{}", pad.slug, r.id),
            id: r.id,
            name: r.name,
            started_at_ms: r.started_at_ms,
            ended_at_ms: r.ended_at_ms,
        })
        .collect();
    let integrity = integrity::timeline(&state.db, pad.id).await?;
    Ok(InterviewSummary {
        slug: pad.slug.clone(),
        title: interview.title,
        language: interview.language,
        ended_at_ms: interview.ended_at_ms,
        scorecards,
        files,
        runs,
        recordings,
        takehome: takehomes::grading(state, pad.id).await?,
        integrity,
    })
}

fn recommendation(value: Option<Recommendation>) -> &'static str {
    match value {
        Some(Recommendation::StrongNo) => "strong no",
        Some(Recommendation::No) => "no",
        Some(Recommendation::Yes) => "yes",
        Some(Recommendation::StrongYes) => "strong yes",
        None => "none yet",
    }
}

/// A code fence longer than any run of backticks in `text`, so the text cannot close it.
fn fence(text: &str) -> String {
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    "`".repeat(longest.max(2) + 1)
}

fn scorecard_markdown(out: &mut String, card: &ScorecardView) {
    let state = if card.submitted_at_ms.is_some() {
        "submitted"
    } else {
        "draft"
    };
    out.push_str(&format!(
        "### {} — {} ({state})\n\n",
        card.name,
        recommendation(card.recommendation)
    ));
    for section in &card.sections {
        out.push_str(&format!("**{}**\n\n", section.title));
        for criterion in &section.criteria {
            let rating = criterion.rating.map_or("–".to_string(), |r| r.to_string());
            let level = criterion
                .rating
                .and_then(|r| criterion.levels.get(usize::from(r) - 1));
            let described = level.map_or(String::new(), |text| format!(" ({text})"));
            out.push_str(&format!(
                "- {}: {rating}/{}{described}\n",
                criterion.name,
                scorecards::RATING_LEVELS
            ));
        }
        out.push('\n');
    }
    if !card.notes.is_empty() {
        let fence = fence(&card.notes);
        out.push_str(&format!("{fence}text\n{}\n{fence}\n\n", card.notes));
    }
}

/// The summary as a Markdown document. Free text (notes, code) goes into fences, so nothing an
/// interviewer or candidate typed is read as Markdown structure.
pub fn markdown(summary: &InterviewSummary) -> String {
    let mut out = format!("# Interview: {}\n\n", summary.title.replace('\n', " "));
    out.push_str(&format!(
        "- Pad: /p/{}\n- Language: {}\n",
        summary.slug, summary.language
    ));
    match summary.ended_at_ms {
        Some(at) => out.push_str(&format!("- Ended: {}\n\n", iso(at))),
        None => out.push_str("- Ended: not yet\n\n"),
    }
    out.push_str("## Scorecards\n\n");
    let cards = &summary.scorecards;
    if let Some(mine) = &cards.mine {
        scorecard_markdown(&mut out, mine);
    }
    for card in &cards.others {
        scorecard_markdown(&mut out, card);
    }
    if cards
        .mine
        .as_ref()
        .is_none_or(|m| m.submitted_at_ms.is_none())
        && cards.others_submitted > 0
    {
        out.push_str(&format!(
            "{} other scorecard(s) submitted; they are shown once yours is submitted.\n\n",
            cards.others_submitted
        ));
    }
    if let Some(grading) = &summary.takehome {
        takehome_markdown(&mut out, grading);
    }
    out.push_str("## Final code\n\n");
    for file in &summary.files {
        let fence = fence(&file.content);
        out.push_str(&format!(
            "### {}\n\n{fence}{}\n{}\n{fence}\n\n",
            file.name, file.language, file.content
        ));
    }
    out.push_str("## Runs\n\n");
    if summary.runs.is_empty() {
        out.push_str("No runs.\n\n");
    }
    for run in &summary.runs {
        let who = run.user_name.as_deref().unwrap_or("a deleted user");
        let exit = run
            .exit_code
            .map_or(String::new(), |code| format!(", exit {code}"));
        out.push_str(&format!(
            "- {} {} ran {} ({}): {}{exit}\n",
            iso(run.started_at_ms),
            who,
            run.entry,
            run.kind,
            run.outcome
        ));
    }
    out.push_str("\n## Recordings\n\n");
    if summary.recordings.is_empty() {
        out.push_str("No recordings.\n");
    }
    for recording in &summary.recordings {
        out.push_str(&format!(
            "- {} ({}): {}\n",
            recording.name,
            iso(recording.started_at_ms),
            recording.playback_path
        ));
    }
    out.push_str("\n## Integrity timeline\n\n");
    if summary.integrity.events.is_empty() {
        out.push_str("Nothing reported.\n");
    }
    for event in &summary.integrity.events {
        let who = event.user_name.as_deref().unwrap_or("a deleted user");
        let size = event.chars.map_or(String::new(), |chars| {
            let file = event.file.as_deref().unwrap_or("a deleted file");
            format!(": {chars} characters into {file}")
        });
        out.push_str(&format!("- {} {who} {}{size}\n", iso(event.at), event.kind));
    }
    if summary.integrity.capped {
        out.push_str("\nLater reports were not kept (the pad's limit was reached).\n");
    }
    out
}

fn takehome_markdown(out: &mut String, grading: &Grading) {
    out.push_str("## Take-home\n\n");
    if let Some(ms) = grading.time_taken_ms {
        out.push_str(&format!("Time taken: {} s\n\n", ms / 1000));
    }
    out.push_str(&format!(
        "Passed {} of {} test cases.\n\n",
        grading.passed, grading.total
    ));
    for result in &grading.results {
        let verdict = if result.passed { "pass" } else { "fail" };
        let hidden = if result.hidden { " (hidden)" } else { "" };
        out.push_str(&format!(
            "- {}{hidden}: {verdict} ({}, {} ms)\n",
            result.name.replace('\n', " "),
            result.outcome,
            result.duration_ms
        ));
    }
    out.push('\n');
}

fn iso(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms).map_or_else(
        || ms.to_string(),
        |t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
    )
}
