//! Pre-started interpreters: a pooled Python or JavaScript container whose interpreter is already
//! running when the run arrives, so a warm run pays neither the interpreter's start nor the shell
//! and `tar` steps of [`crate::script`].
//!
//! The container's PID 1 is [`supervisor.sh`](./supervisor.sh): it writes the loader
//! (`loader.py` / `loader.js`) into `/tmp/.oc`, starts the interpreter on it with the attached
//! stdin, and waits. The run's input is one header line (JSON: the run argv, the sources'
//! directory, the file names and sizes, the in-container deadline) followed by the files' bytes,
//! then the program's stdin. The loader reads exactly that much (never past it), writes the files,
//! reports the deadline and the end-frame token to PID 1 over a fifo (PID 1 then kills the
//! interpreter past the deadline, as `timeout -s KILL` does on the other path, and writes the end
//! frame of [`crate::end_frame`] once it exited), writes the setup frame and runs the entry as the
//! program's main module: for Python a fresh `__main__` with the program's `sys.argv`,
//! `sys.path[0]` and tracebacks that start at the program's frames; for Node.js
//! `Module.runMain()` on the entry with the program's `process.argv`. Exit statuses pass through
//! PID 1 unchanged (`128+n` for a signal).
//!
//! Only a language whose run step is exactly the interpreter on the entry (the built-in Python
//! and JavaScript commands) is pre-started; an operator's override of the run command, a compile
//! step or a REPL run takes the ordinary path.

use serde::Serialize;

use crate::end_frame::EndToken;
use crate::languages::{Language, Plan};
use crate::script::{self, SRC_DIR};
use crate::{RunLimits, SourceFile};

const SUPERVISOR: &str = include_str!("supervisor.sh");
const PYTHON_LOADER: &str = include_str!("loader.py");
const NODE_LOADER: &str = include_str!("loader.js");

/// An interpreter that can wait, started, for its program.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Interpreter {
    Python,
    Node,
}

impl Interpreter {
    /// The interpreter `lang` runs its entry with, when its run step is exactly that.
    pub(crate) fn of(lang: &Language) -> Option<Self> {
        if lang.compile.is_some() {
            return None;
        }
        match lang.run.iter().map(String::as_str).collect::<Vec<_>>()[..] {
            ["python3", "{entry}"] => Some(Self::Python),
            ["node", "{entry}"] => Some(Self::Node),
            _ => None,
        }
    }

    fn loader(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Self::Python => ("loader.py", PYTHON_LOADER, "python3"),
            Self::Node => ("loader.js", NODE_LOADER, "node"),
        }
    }

    /// The container command: PID 1 starts the interpreter on its loader and supervises it.
    pub(crate) fn container_cmd(self) -> Vec<String> {
        let (file, code, interpreter) = self.loader();
        ["/bin/sh", "-c", SUPERVISOR, "sh", file, code, interpreter]
            .map(String::from)
            .to_vec()
    }
}

#[derive(Serialize)]
struct Header<'a> {
    argv: &'a [String],
    src: &'a str,
    files: Vec<(&'a str, usize)>,
    deadline: String,
    end: &'a str,
}

/// The input a pre-started container reads before the program's stdin.
pub(crate) fn input(
    plan: &Plan,
    files: &[SourceFile],
    limits: &RunLimits,
    end: &EndToken,
) -> Vec<u8> {
    let header = Header {
        argv: &plan.run,
        src: SRC_DIR,
        files: files
            .iter()
            .map(|f| (f.name.as_str(), f.content.len()))
            .collect(),
        deadline: script::deadline_seconds(limits.wall),
        end: end.as_str(),
    };
    // Plain strings and numbers: serialising cannot fail.
    let mut out = serde_json::to_vec(&header).expect("header serialises");
    out.push(b'\n');
    for f in files {
        out.extend_from_slice(&f.content);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::LanguageTable;

    #[test]
    fn only_the_plain_interpreter_commands_are_pre_started() {
        let table = LanguageTable::builtin();
        let of = |id: &str| Interpreter::of(table.get(id).unwrap());
        assert_eq!(of("python"), Some(Interpreter::Python));
        assert_eq!(of("javascript"), Some(Interpreter::Node));
        assert_eq!(of("typescript"), None);
        assert_eq!(of("ruby"), None);
        assert_eq!(of("c"), None);
        let repl = table.get("python").unwrap().for_repl().unwrap();
        assert_eq!(Interpreter::of(&repl), None);
        let mut changed = table.get("python").unwrap().clone();
        changed.run = vec![
            "python3".into(),
            "-X".into(),
            "utf8".into(),
            "{entry}".into(),
        ];
        assert_eq!(Interpreter::of(&changed), None);
    }

    #[test]
    fn the_header_line_precedes_the_files_bytes() {
        let table = LanguageTable::builtin();
        let plan = table.get("python").unwrap().plan(
            "main.py",
            &["main.py", "data.txt"],
            &script::docker_paths(),
        );
        let files = [
            SourceFile::new("main.py", "print(1)\n"),
            SourceFile::new("data.txt", "a\nb"),
        ];
        let limits = RunLimits {
            wall: std::time::Duration::from_millis(1500),
            ..RunLimits::default()
        };
        let end = EndToken::new();
        let bytes = input(&plan, &files, &limits, &end);
        let newline = bytes.iter().position(|&b| b == b'\n').unwrap();
        let header: serde_json::Value = serde_json::from_slice(&bytes[..newline]).unwrap();
        assert_eq!(header["argv"], serde_json::json!(["python3", "main.py"]));
        assert_eq!(header["src"], "/tmp/app");
        assert_eq!(
            header["files"],
            serde_json::json!([["main.py", 9], ["data.txt", 3]])
        );
        assert_eq!(header["deadline"], "3.500");
        assert_eq!(header["end"], end.as_str());
        assert_eq!(&bytes[newline + 1..], b"print(1)\na\nb");
    }
}
