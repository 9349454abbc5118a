//! Function-signature harnesses (issue 13 §7, the bonus): for a `function` test case the server
//! adds one generated file next to the candidate's files and runs it as the entry. The harness
//! loads the candidate's entry file as a module (its top-level code runs as on any import; a
//! Python `if __name__ == "__main__":` block does not), calls the question's function with the case's
//! arguments decoded from JSON, and reports what it returned, or the error it raised, as one JSON
//! line on stdout, then ends the process so nothing the call left running holds the run.
//!
//! **The result channel.** Each run gets a fresh 128-bit random marker. The server hands it to
//! the harness on **stdin** (first line, then the arguments), and the harness reads all of stdin
//! before it loads the candidate's code: the marker is in no file of the run (the candidate's
//! code could read the harness's source), in no argument or environment variable, and stdin is
//! at its end when the candidate's code runs. The harness keeps its own handle on the real stdout
//! (a duplicated descriptor in Python, `fs.writeSync(1)` in Node) so replacing `sys.stdout` or
//! `process.stdout.write` does not reach it, and writes `\n<marker> <payload>\n` last, where
//! `<payload>` is `{"returned": value}` or `{"error": "Type: message"}`. The grader accepts a
//! run only when the marker occurs **exactly once** in stdout: a line the candidate printed in
//! advance cannot carry a marker nobody has seen yet, and a second copy fails the case rather
//! than choosing between them. What the candidate printed (the marker line removed) stays the
//! case's output. The harness shares the candidate's process, so code written to dig the marker
//! out of the harness's memory (Python frame inspection) could still forge a line; that takes
//! deliberate code the interviewer reads in the submission and its playback, and it gains nothing
//! on hidden cases: their expected values never enter the sandbox, so a forged pass needs the
//! right answer anyway.
//!
//! Values are compared structurally (`compare`): object key order is irrelevant, numbers compare
//! as numbers within `compare::FLOAT_TOLERANCE`.

pub mod compare;
mod javascript;
mod python;
mod typescript;

use rand::RngCore;
use serde_json::Value;

use super::signature::Signature;

/// A language whose candidates' functions the server can call.
pub struct Harness {
    /// The sandbox language id.
    pub language: &'static str,
    /// The generated file's name, the run's entry; a pad file of the same name is left out.
    pub file: &'static str,
    /// The harness's source, calling `function` from the candidate's file `entry`.
    source: fn(entry: &str, function: &str) -> String,
    /// The starter file a question with `signature` gets in this language.
    starter: fn(&Signature) -> String,
}

impl Harness {
    pub fn source(&self, entry: &str, function: &str) -> String {
        (self.source)(entry, function)
    }

    pub fn starter(&self, signature: &Signature) -> String {
        (self.starter)(signature)
    }
}

/// Every language with a harness; the others keep stdin/stdout cases only.
pub static HARNESSES: [Harness; 3] = [
    Harness {
        language: "python",
        file: "__oc_harness__.py",
        source: python::source,
        starter: python::starter,
    },
    Harness {
        language: "javascript",
        file: "__oc_harness__.js",
        source: javascript::source,
        starter: javascript::starter,
    },
    Harness {
        language: "typescript",
        file: "__oc_harness__.ts",
        source: typescript::source,
        starter: typescript::starter,
    },
];

pub fn for_language(language: &str) -> Option<&'static Harness> {
    HARNESSES.iter().find(|h| h.language == language)
}

/// The ids of the languages with a harness, for messages.
pub fn languages() -> Vec<&'static str> {
    HARNESSES.iter().map(|h| h.language).collect()
}

/// A string as a literal Python, JavaScript and TypeScript all read the same way: JSON's string
/// escapes are a subset of each language's.
fn literal(text: &str) -> String {
    Value::String(text.to_string()).to_string()
}

/// A fresh marker for one run: 32 hex digits from the OS's generator.
pub fn new_marker() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    format!("OC-RESULT-{}", hex::encode(bytes))
}

/// The run's stdin: the marker, then the arguments.
pub fn stdin(marker: &str, args: &str) -> Vec<u8> {
    format!("{marker}\n{args}").into_bytes()
}

/// What the harness reported.
#[derive(Debug, Clone, PartialEq)]
pub enum Report {
    Returned(Value),
    /// The function (or loading the candidate's file) raised; its type and message.
    Raised(String),
    /// No result line: the program ended, timed out or was killed before the function returned.
    Missing,
    /// The marker occurred more than once; nothing is believed.
    Tampered,
}

impl Report {
    /// Why the case failed when it did not return, as shown in its result.
    pub fn error(&self) -> Option<String> {
        match self {
            Report::Returned(_) => None,
            Report::Raised(message) => Some(message.clone()),
            Report::Missing => Some("the function returned no result (the program ended, timed out or was stopped before it returned)".into()),
            Report::Tampered => Some("the result line appeared more than once; the run's output is not trusted".into()),
        }
    }
}

/// Split a run's stdout into what the candidate printed and what the harness reported.
pub fn read_report(stdout: &str, marker: &str) -> (String, Report) {
    let mut found = stdout.match_indices(marker);
    let Some((at, _)) = found.next() else {
        return (stdout.to_string(), Report::Missing);
    };
    if found.next().is_some() {
        return (stdout.to_string(), Report::Tampered);
    }
    let line_end = stdout[at..].find('\n').map_or(stdout.len(), |i| at + i);
    let payload = stdout[at + marker.len()..line_end].trim();
    // The harness starts its line with a newline of its own; it is not the candidate's output.
    let before = stdout[..at].strip_suffix('\n').unwrap_or(&stdout[..at]);
    let after = stdout.get(line_end + 1..).unwrap_or("");
    let printed = format!("{before}{after}");
    let report = match serde_json::from_str::<Value>(payload) {
        Ok(Value::Object(mut fields)) => {
            match (fields.remove("returned"), fields.remove("error")) {
                (Some(value), None) => Report::Returned(value),
                (None, Some(Value::String(message))) => Report::Raised(message),
                _ => Report::Tampered,
            }
        }
        _ => Report::Tampered,
    };
    (printed, report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_report_is_read_once_and_the_candidates_output_kept() {
        let marker = new_marker();
        assert_ne!(marker, new_marker());
        let out = format!("hello\npartial\n{marker} {{\"returned\": [1, 2]}}\n");
        let (printed, report) = read_report(&out, &marker);
        assert_eq!(printed, "hello\npartial");
        assert_eq!(report, Report::Returned(json!([1, 2])));

        let out = format!("{marker} {{\"error\": \"ValueError: no\"}}\n");
        assert_eq!(
            read_report(&out, &marker).1,
            Report::Raised("ValueError: no".into())
        );
        assert_eq!(read_report("5\n", &marker), ("5\n".into(), Report::Missing));
        let twice = format!("{marker} {{\"returned\": 1}}\n\n{marker} {{\"returned\": 2}}\n");
        assert_eq!(read_report(&twice, &marker).1, Report::Tampered);
        let odd = format!("{marker} {{\"returned\": 1, \"error\": \"x\"}}\n");
        assert_eq!(read_report(&odd, &marker).1, Report::Tampered);
        // Another run's marker is just text.
        let stale = format!("{} {{\"returned\": 1}}\n", new_marker());
        assert_eq!(read_report(&stale, &marker).1, Report::Missing);
    }

    #[test]
    fn literals_escape_for_every_harness_language() {
        assert_eq!(literal("a\"b\\c\n"), r#""a\"b\\c\n""#);
    }
}
