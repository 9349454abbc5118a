//! The `integrity` app message (client → server): what a candidate's client saw happen — a
//! paste, a large insertion, the window losing or regaining focus. Sizes only, never content.
//!
//! `{type: "integrity", kind: "paste" | "largeInsert", chars, fileId}` or
//! `{type: "integrity", kind: "focusLost" | "focusRegained"}`. Anything else (another field, a
//! size on a focus event, a paste without a size) is not an integrity report.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The app message `type` of a report.
pub const INTEGRITY_TYPE: &str = "integrity";

/// What the client saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum IntegrityKind {
    /// Text pasted into a file.
    Paste,
    /// One change inserted more characters into a file than the client's threshold.
    LargeInsert,
    /// The page was hidden or the window lost focus.
    FocusLost,
    /// The page is visible and focused again.
    FocusRegained,
}

impl IntegrityKind {
    /// Whether a report of this kind carries `chars` and `fileId`.
    pub fn has_size(self) -> bool {
        matches!(self, IntegrityKind::Paste | IntegrityKind::LargeInsert)
    }
}

/// One validated report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IntegrityReport {
    /// What happened.
    pub kind: IntegrityKind,
    /// Characters inserted, in UTF-16 code units (the editor's unit); paste and large insert only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chars: Option<u32>,
    /// The file's id (its text is the document root `file:<id>`); paste and large insert only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_id: Option<i64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Wire {
    #[serde(rename = "type")]
    _msg_type: String,
    kind: IntegrityKind,
    chars: Option<u32>,
    file_id: Option<i64>,
}

/// Why a value is not an integrity report.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an integrity report: {0}")]
pub struct InvalidReport(String);

impl IntegrityReport {
    /// Reads a report from an app message's object (its `type` included).
    pub fn from_value(value: &Value) -> Result<IntegrityReport, InvalidReport> {
        let wire = Wire::deserialize(value).map_err(|e| InvalidReport(e.to_string()))?;
        let sized = matches!((wire.chars, wire.file_id), (Some(c), Some(f)) if c > 0 && f > 0);
        let bare = wire.chars.is_none() && wire.file_id.is_none();
        if (wire.kind.has_size() && !sized) || (!wire.kind.has_size() && !bare) {
            return Err(InvalidReport(format!(
                "{:?} needs {}",
                wire.kind,
                if wire.kind.has_size() {
                    "positive chars and fileId"
                } else {
                    "no chars or fileId"
                }
            )));
        }
        Ok(IntegrityReport {
            kind: wire.kind,
            chars: wire.chars,
            file_id: wire.file_id,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reports_parse_and_everything_else_is_refused() {
        let paste = json!({"type": "integrity", "kind": "paste", "chars": 12, "fileId": 3});
        assert_eq!(
            IntegrityReport::from_value(&paste).unwrap(),
            IntegrityReport {
                kind: IntegrityKind::Paste,
                chars: Some(12),
                file_id: Some(3)
            }
        );
        let blur = json!({"type": "integrity", "kind": "focusLost"});
        assert_eq!(
            IntegrityReport::from_value(&blur).unwrap().kind,
            IntegrityKind::FocusLost
        );
        for bad in [
            json!({"type": "integrity", "kind": "copy"}),
            json!({"type": "integrity", "kind": "paste", "chars": 3}),
            json!({"type": "integrity", "kind": "paste", "chars": 0, "fileId": 1}),
            json!({"type": "integrity", "kind": "paste", "chars": -1, "fileId": 1}),
            json!({"type": "integrity", "kind": "focusLost", "chars": 3}),
            json!({"type": "integrity", "kind": "paste", "chars": 3, "fileId": 1, "text": "x"}),
            json!({"type": "integrity"}),
        ] {
            assert!(IntegrityReport::from_value(&bad).is_err(), "{bad}");
        }
    }
}
