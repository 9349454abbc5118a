//! The built-in REPL commands (issue 12): after the entry program has run, an interactive
//! session in its context, read from the run's stdin (a pipe, not a terminal).
//!
//! Each is a small driver rather than the interpreter's own `-i` switch, so that the prompts go to
//! stdout (where a terminal would show them, in order with the results), the program's top-level
//! names stay in scope, and an error in the program still leaves a usable REPL. The drivers
//! declare no top-level names of their own that the program or the session could clash with.

/// Python: the entry runs as `__main__` (as `python3 main.py` would run it), then
/// `code.interact` in its namespace. A traceback of the program omits the driver's frame.
const PYTHON: &str = r#"import code, sys, traceback
path = sys.argv[1]
sys.argv = [path]
scope = dict(__name__="__main__", __file__=path, __builtins__=__builtins__)
try:
    with open(path, encoding="utf-8") as source:
        exec(compile(source.read(), path, "exec"), scope)
except SystemExit:
    pass
except BaseException:
    kind, error, trace = sys.exc_info()
    traceback.print_exception(kind, error, trace.tb_next)
code.interact(banner="", local=scope, exitmsg="")
"#;

/// Node: the entry is evaluated as a script in the global context (its functions, `var`s and
/// top-level `let`/`const` are the REPL's), then `repl.start` on that context.
const JAVASCRIPT: &str = r#"(() => {
  const file = require('path').resolve(process.argv[1]);
  process.argv[1] = file;
  try {
    require('vm').runInThisContext(require('fs').readFileSync(file, 'utf8'), { filename: file });
  } catch (error) {
    console.error(error);
  }
  require('repl').start({ prompt: '> ', useGlobal: true });
})();
"#;

/// Ruby: the entry is evaluated in the top-level binding (its methods, constants and locals stay
/// visible), then a read-eval-print loop on that binding that keeps reading while the input so far
/// is an unfinished statement (a blank line evaluates it anyway, showing the syntax error).
const RUBY: &str = r##"lambda do
  $stdout.sync = $stderr.sync = true
  file = File.expand_path(ARGV.shift)
  $PROGRAM_NAME = file
  show = lambda do |error|
    trace = error.backtrace.to_a.reject { |line| line.start_with?("-e:") }
    place = trace.empty? ? "" : "#{trace.first}: "
    warn "#{place}#{error.message} (#{error.class})", *trace.drop(1).map { |line| "\tfrom #{line}" }
  end
  begin
    TOPLEVEL_BINDING.eval(File.read(file), file)
  rescue SystemExit
  rescue Exception => error
    show.call(error)
  end
  pending = +""
  loop do
    print(pending.empty? ? ">> " : ".. ")
    line = $stdin.gets or break
    pending << line
    begin
      RubyVM::InstructionSequence.compile(pending)
    rescue SyntaxError => error
      next if !line.strip.empty? && error.message.match?(/end-of-input|meets end of file/)
    end
    begin
      puts "=> #{TOPLEVEL_BINDING.eval(pending, "(repl)").inspect}"
    rescue SystemExit
      raise
    rescue Exception => error
      show.call(error)
    ensure
      pending = +""
    end
  end
end.call
"##;

/// The REPL argv template of built-in language `id`, if it has one.
pub(crate) fn builtin_command(id: &str) -> Option<Vec<String>> {
    let (program, flag, driver) = match id {
        "python" => ("python3", "-c", PYTHON),
        "javascript" => ("node", "-e", JAVASCRIPT),
        "ruby" => ("ruby", "-e", RUBY),
        _ => return None,
    };
    Some(vec![
        program.into(),
        flag.into(),
        driver.into(),
        "{entry}".into(),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drivers_hold_no_placeholder_but_the_entry_argument() {
        for id in ["python", "javascript", "ruby"] {
            let argv = builtin_command(id).unwrap();
            assert_eq!(argv.last().unwrap(), "{entry}");
            for token in [
                "{entry}",
                "{entry_stem}",
                "{sources}",
                "{out}",
                "{src}",
                "{home}",
            ] {
                assert!(
                    !argv[2].contains(token),
                    "{id}'s driver would be rewritten at {token}"
                );
            }
        }
        assert!(builtin_command("c").is_none());
    }

    #[test]
    fn a_repl_replaces_the_run_step_and_an_operator_may_set_or_refuse_one() {
        let table = crate::LanguageTable::builtin();
        let python = table.get("python").unwrap().for_repl().unwrap();
        assert_eq!(Some(python.run.clone()), builtin_command("python"));
        assert_eq!(
            python.env,
            table.get("python").unwrap().env,
            "the REPL keeps the language's environment"
        );
        assert!(table.get("go").unwrap().for_repl().is_none());

        let table = crate::LanguageTable::builtin()
            .with_overrides_toml("[[language]]\nid = \"go\"\nrepl = [\"gore\", \"{entry}\"]\n")
            .unwrap();
        assert_eq!(
            table.get("go").unwrap().for_repl().unwrap().run,
            ["gore", "{entry}"]
        );
        let empty = crate::LanguageTable::builtin()
            .with_overrides_toml("[[language]]\nid = \"ruby\"\nrepl = []\n");
        assert!(empty.unwrap_err().contains("empty repl command"));
    }
}
