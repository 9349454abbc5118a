//! Scorecards (issue 13 §4): each interviewer of an interview pad fills their own — sections of
//! criteria, each rated 1–4 against a description per level, free-text notes and a final
//! recommendation — saves drafts, and submits it once. Submitted is final.
//!
//! A new scorecard starts from a template: the one of the interview's question (copied when the
//! interview started), else its interviewer's own (`PUT /api/scorecard-template`), else the
//! built-in one (`builtin_template`).
//!
//! Anti-anchoring is enforced here, not in the client: an interviewer reads the others' scorecards
//! only after submitting their own, and nobody ever reads another's draft; until then they learn
//! only how many the others have submitted. Candidates and viewers reach none of it (the routes
//! require `can_see_interviewer_notes`).

pub mod store;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::switches::{self, now_ms};
use crate::audit::{Actor, AuditAction, AuditEvent};
use crate::db::{PadId, UserId};
use crate::error::{AppError, AppResult};
use crate::pads::store::Pad;
use crate::AppState;
use store::ScorecardRow;

/// Sections of one scorecard.
pub const MAX_SECTIONS: usize = 12;
/// Criteria of one scorecard, all sections together.
pub const MAX_CRITERIA: usize = 60;
/// A section title or a criterion name, in characters.
pub const MAX_LABEL_CHARS: usize = 200;
/// The description of one rating level, in characters.
pub const MAX_LEVEL_CHARS: usize = 1_000;
/// The free-text notes of one scorecard, in bytes.
pub const MAX_NOTES_BYTES: usize = 20_000;
/// Ratings run from 1 to this, with one description per level.
pub const RATING_LEVELS: usize = 4;

/// The final recommendation, from strong no to strong yes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum Recommendation {
    StrongNo,
    No,
    Yes,
    StrongYes,
}

/// One criterion: what is judged, what each level 1–4 means, and the rating given (none yet in a
/// draft).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Criterion {
    pub name: String,
    /// Exactly `RATING_LEVELS` descriptions, level 1 first.
    pub levels: Vec<String>,
    pub rating: Option<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Section {
    pub title: String,
    pub criteria: Vec<Criterion>,
}

/// A scorecard as written by its interviewer (a draft may leave ratings and the recommendation
/// out; a submission may not).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScorecardInput {
    pub sections: Vec<Section>,
    #[serde(default)]
    pub notes: String,
    pub recommendation: Option<Recommendation>,
}

/// One interviewer's scorecard.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScorecardView {
    #[schema(value_type = i64)]
    pub user_id: UserId,
    pub name: String,
    pub sections: Vec<Section>,
    pub notes: String,
    pub recommendation: Option<Recommendation>,
    pub updated_at_ms: i64,
    /// Set once submitted; a submitted scorecard no longer changes.
    pub submitted_at_ms: Option<i64>,
}

/// What the caller may see of the pad's scorecards.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScorecardsView {
    /// The caller's own scorecard, draft or submitted; `null` before their first save.
    pub mine: Option<ScorecardView>,
    /// The others' submitted scorecards: empty until the caller has submitted theirs.
    pub others: Vec<ScorecardView>,
    /// How many others have submitted, shown even before the caller has.
    pub others_submitted: usize,
    /// What the caller's new scorecard starts from (the question's template, else theirs).
    pub template: Vec<Section>,
}

/// A user's scorecard template: sections and criteria with their level descriptions, no ratings.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TemplateInput {
    pub sections: Vec<Section>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TemplateView {
    pub sections: Vec<Section>,
    /// Whether the user saved it (`false`: the built-in template).
    pub custom: bool,
}

fn criterion(name: &str, levels: [&str; RATING_LEVELS]) -> Criterion {
    Criterion {
        name: name.to_string(),
        levels: levels.iter().map(|l| l.to_string()).collect(),
        rating: None,
    }
}

/// The template of a user who has not saved one.
pub fn builtin_template() -> Vec<Section> {
    let section = |title: &str, criteria: Vec<Criterion>| Section {
        title: title.to_string(),
        criteria,
    };
    vec![
        section(
            "Problem solving",
            vec![
                criterion(
                    "Understanding the problem",
                    [
                        "Misread it",
                        "Needed much help",
                        "Clarified the key points",
                        "Found the edge cases unprompted",
                    ],
                ),
                criterion(
                    "Approach",
                    [
                        "No workable plan",
                        "Brute force only",
                        "A sound plan",
                        "Weighed trade-offs between plans",
                    ],
                ),
            ],
        ),
        section(
            "Code",
            vec![
                criterion(
                    "Correctness",
                    [
                        "Does not run",
                        "Works on the happy path",
                        "Works, minor bugs",
                        "Correct and tested",
                    ],
                ),
                criterion(
                    "Readability",
                    [
                        "Hard to follow",
                        "Readable with effort",
                        "Clear",
                        "Clear and idiomatic",
                    ],
                ),
            ],
        ),
        section(
            "Communication",
            vec![criterion(
                "Explains their thinking",
                ["Silent", "When asked", "Mostly", "Throughout, and listens"],
            )],
        ),
    ]
}

/// A stored template's sections.
pub fn parse_template(body: &str) -> AppResult<Vec<Section>> {
    let input: TemplateInput =
        serde_json::from_str(body).map_err(|err| AppError::Internal(err.into()))?;
    Ok(input.sections)
}

/// A template checked under the limits of a scorecard, ratings dropped, as stored.
pub fn template_body(input: TemplateInput) -> AppResult<String> {
    let checked = validate(
        ScorecardInput {
            sections: input.sections,
            notes: String::new(),
            recommendation: None,
        },
        false,
    )?;
    let sections: Vec<Section> = checked
        .sections
        .into_iter()
        .map(|section| Section {
            criteria: section
                .criteria
                .into_iter()
                .map(|c| Criterion { rating: None, ..c })
                .collect(),
            ..section
        })
        .collect();
    serde_json::to_string(&TemplateInput { sections }).map_err(|err| AppError::Internal(err.into()))
}

/// `user`'s template, or the built-in one.
pub async fn template(state: &AppState, user: UserId) -> AppResult<TemplateView> {
    match store::template(&state.db, user).await? {
        Some(body) => Ok(TemplateView {
            sections: parse_template(&body)?,
            custom: true,
        }),
        None => Ok(TemplateView {
            sections: builtin_template(),
            custom: false,
        }),
    }
}

/// Save `user`'s template.
pub async fn set_template(
    state: &AppState,
    user: UserId,
    input: TemplateInput,
) -> AppResult<TemplateView> {
    store::set_template(&state.db, user, &template_body(input)?, now_ms()).await?;
    template(state, user).await
}

fn label(raw: &str, what: &str) -> AppResult<String> {
    let text = raw.trim();
    let chars = text.chars().count();
    if chars == 0 || chars > MAX_LABEL_CHARS {
        return Err(AppError::invalid(
            "invalid_scorecard",
            format!("{what} is 1–{MAX_LABEL_CHARS} characters"),
        ));
    }
    Ok(text.to_string())
}

/// Check every limit; `complete` also asks for every rating and the recommendation (submission).
/// The result is what the store writes.
pub fn validate(input: ScorecardInput, complete: bool) -> AppResult<ScorecardInput> {
    if input.sections.len() > MAX_SECTIONS {
        return Err(AppError::invalid(
            "invalid_scorecard",
            format!("a scorecard has at most {MAX_SECTIONS} sections"),
        ));
    }
    if input
        .sections
        .iter()
        .map(|s| s.criteria.len())
        .sum::<usize>()
        > MAX_CRITERIA
    {
        return Err(AppError::invalid(
            "invalid_scorecard",
            format!("a scorecard has at most {MAX_CRITERIA} criteria"),
        ));
    }
    if input.notes.len() > MAX_NOTES_BYTES {
        return Err(AppError::TooLarge {
            code: "scorecard_notes_too_large",
            message: format!("a scorecard's notes hold at most {MAX_NOTES_BYTES} bytes"),
        });
    }
    let mut sections = Vec::with_capacity(input.sections.len());
    for section in input.sections {
        let title = label(&section.title, "a section title")?;
        let mut criteria = Vec::with_capacity(section.criteria.len());
        for criterion in section.criteria {
            let name = label(&criterion.name, "a criterion name")?;
            if criterion.levels.len() != RATING_LEVELS
                || criterion
                    .levels
                    .iter()
                    .any(|level| level.chars().count() > MAX_LEVEL_CHARS)
            {
                return Err(AppError::invalid(
                    "invalid_scorecard",
                    format!("a criterion describes exactly {RATING_LEVELS} levels of at most {MAX_LEVEL_CHARS} characters each"),
                ));
            }
            match criterion.rating {
                Some(rating) if !(1..=RATING_LEVELS as u8).contains(&rating) => {
                    return Err(AppError::invalid(
                        "invalid_rating",
                        format!("a rating is 1–{RATING_LEVELS}"),
                    ));
                }
                None if complete => {
                    return Err(AppError::invalid(
                        "scorecard_incomplete",
                        format!("rate \"{name}\" before submitting"),
                    ));
                }
                _ => {}
            }
            let levels = criterion
                .levels
                .iter()
                .map(|level| level.trim().to_string())
                .collect();
            criteria.push(Criterion {
                name,
                levels,
                rating: criterion.rating,
            });
        }
        sections.push(Section { title, criteria });
    }
    if complete && input.recommendation.is_none() {
        return Err(AppError::invalid(
            "scorecard_incomplete",
            "give a recommendation before submitting",
        ));
    }
    Ok(ScorecardInput {
        sections,
        notes: input.notes,
        recommendation: input.recommendation,
    })
}

fn view(row: ScorecardRow) -> AppResult<ScorecardView> {
    let body: ScorecardInput =
        serde_json::from_str(&row.body).map_err(|err| AppError::Internal(err.into()))?;
    Ok(ScorecardView {
        user_id: row.user_id,
        name: row.name,
        sections: body.sections,
        notes: body.notes,
        recommendation: body.recommendation,
        updated_at_ms: row.updated_at_ms,
        submitted_at_ms: row.submitted_at_ms,
    })
}

/// The pad's scorecards as `user` may see them (see the module docs). 404 when the pad holds no
/// interview.
pub async fn list(state: &AppState, pad: PadId, user: UserId) -> AppResult<ScorecardsView> {
    let interview = switches::find(state, pad).await?;
    let mine = store::find(&state.db, pad, user)
        .await?
        .map(view)
        .transpose()?;
    let others = store::submitted_by_others(&state.db, pad, user).await?;
    let others_submitted = others.len();
    let may_read_others = mine.as_ref().is_some_and(|m| m.submitted_at_ms.is_some());
    let others = if may_read_others {
        others.into_iter().map(view).collect::<AppResult<_>>()?
    } else {
        Vec::new()
    };
    let template = match interview.scorecard_template {
        Some(body) => parse_template(&body)?,
        None => template(state, user).await?.sections,
    };
    Ok(ScorecardsView {
        mine,
        others,
        others_submitted,
        template,
    })
}

/// Save `user`'s draft, or submit it (`submit`: complete, and final; audited
/// `interview.scorecard.submit` with the recommendation). 409 `scorecard_submitted` once it has
/// been submitted.
pub async fn write(
    state: &AppState,
    actor: &Actor,
    pad: &Pad,
    user: UserId,
    input: ScorecardInput,
    submit: bool,
) -> AppResult<ScorecardsView> {
    switches::find(state, pad.id).await?;
    let card = validate(input, submit)?;
    let body = serde_json::to_string(&card).map_err(|err| AppError::Internal(err.into()))?;
    let at_ms = now_ms();
    if !store::write(
        &state.db,
        pad.id,
        user,
        &body,
        at_ms,
        submit.then_some(at_ms),
    )
    .await?
    {
        return Err(AppError::conflict(
            "scorecard_submitted",
            "this scorecard was submitted and no longer changes",
        ));
    }
    if submit {
        let meta = serde_json::json!({ "recommendation": card.recommendation });
        state
            .audit
            .record(
                actor,
                AuditEvent::new(AuditAction::InterviewScorecardSubmit)
                    .target(&pad.slug)
                    .meta(meta),
            )
            .await;
    }
    list(state, pad.id, user).await
}
