//! How a run's output interleaved, kept beside its stdout and stderr so a reload shows the run
//! as it happened: console input marked as input where it was typed, stderr between the stdout
//! around it. Stored as the order of runs over the two texts, not as a third copy of them:
//! `[["o", 120], ["i", 6], ["o", 30], ["e", 41]]` — `o` and `i` take their length from stdout
//! (console input is echoed into stdout, where a terminal would show it), `e` from stderr.
//! Lengths count UTF-16 code units, the unit the browser slices strings in.

use serde::Serialize;

use super::output::OutputKind;

/// The layout of one run's output, adjacent pieces of a kind merged.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Layout {
    runs: Vec<(OutputKind, usize)>,
}

impl Layout {
    /// Count `text`, sent as `kind`, after what is already laid out.
    pub fn push(&mut self, kind: OutputKind, text: &str) {
        let units = text.encode_utf16().count();
        if units == 0 {
            return;
        }
        match self.runs.last_mut() {
            Some((last, length)) if *last == kind => *length += units,
            _ => self.runs.push((kind, units)),
        }
    }

    /// The stored form (see the module docs).
    pub fn to_json(&self) -> String {
        let runs: Vec<(&str, usize)> = self
            .runs
            .iter()
            .map(|(kind, units)| (code(*kind), *units))
            .collect();
        serde_json::to_string(&runs).expect("pairs of a string and a number serialise")
    }
}

fn code(kind: OutputKind) -> &'static str {
    match kind {
        OutputKind::Stdout => "o",
        OutputKind::Stdin => "i",
        OutputKind::Stderr => "e",
    }
}

/// Serialise a stored layout (JSON text) as the JSON it holds; a row without one (stored before
/// layouts were kept) as `null`.
pub fn serialize_stored<S: serde::Serializer>(
    stored: &Option<String>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    let value = stored
        .as_deref()
        .and_then(|text| serde_json::from_str::<serde_json::Value>(text).ok());
    value.serialize(serializer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merges_neighbours_and_counts_utf16_units() {
        let mut layout = Layout::default();
        layout.push(OutputKind::Stdout, "name? ");
        layout.push(OutputKind::Stdin, "Zoë\n");
        layout.push(OutputKind::Stdout, "hi ");
        layout.push(OutputKind::Stdout, "😀\n");
        layout.push(OutputKind::Stderr, "");
        layout.push(OutputKind::Stderr, "warn\n");
        assert_eq!(layout.to_json(), r#"[["o",6],["i",4],["o",6],["e",5]]"#);
    }
}
