import { describe, expect, it } from 'vitest';
import { MAX_DIAGNOSTICS, matchFile, parseDiagnostics, stderrText } from '../src/editor/diagnostics';
import { OutputBuffer } from '../src/features/run/outputBuffer';

describe('parseDiagnostics', () => {
  it('takes a Python traceback to its innermost frame in a pad file, with the exception line', () => {
    const stderr = [
      'Traceback (most recent call last):',
      '  File "/sandbox/main.py", line 9, in <module>',
      '    main()',
      '  File "/sandbox/helpers.py", line 4, in main',
      '    return 1 / zero',
      '  File "/usr/lib/python3.12/fractions.py", line 88, in __new__',
      'ZeroDivisionError: division by zero',
    ].join('\n');
    expect(parseDiagnostics(stderr, ['main.py', 'helpers.py'])).toEqual([
      { file: 'helpers.py', line: 4, message: 'ZeroDivisionError: division by zero', severity: 'error' },
    ]);
  });

  it('reads a Python syntax error (no "in" part, a caret line before the exception)', () => {
    const stderr = '  File "main.py", line 3\n    print("a"\n         ^\nSyntaxError: \'(\' was never closed\n';
    expect(parseDiagnostics(stderr, ['main.py'])).toEqual([
      { file: 'main.py', line: 3, message: "SyntaxError: '(' was never closed", severity: 'error' },
    ]);
  });

  it('reads gcc and clang errors and warnings with their column, and skips other files', () => {
    const stderr = [
      'main.c: In function \u2018main\u2019:',
      "main.c:4:5: error: implicit declaration of function 'prnt'",
      "./main.c:7:12: warning: unused variable 'x' [-Wunused-variable]",
      "/usr/include/stdio.h:10:1: note: declared here",
      '1 error generated.',
    ].join('\n');
    expect(parseDiagnostics(stderr, ['main.c'])).toEqual([
      { file: 'main.c', line: 4, column: 5, message: "implicit declaration of function 'prnt'", severity: 'error' },
      { file: 'main.c', line: 7, column: 12, message: "unused variable 'x' [-Wunused-variable]", severity: 'warning' },
    ]);
  });

  it('reads javac errors (line only)', () => {
    const stderr = 'Main.java:5: error: cannot find symbol\n        foo();\n        ^\n1 error\n';
    expect(parseDiagnostics(stderr, ['Main.java'])).toEqual([
      { file: 'Main.java', line: 5, message: 'cannot find symbol', severity: 'error' },
    ]);
  });

  it('reads Go build errors', () => {
    const stderr = '# command-line-arguments\n./main.go:6:2: undefined: fmt.Prinln\n';
    expect(parseDiagnostics(stderr, ['main.go'])).toEqual([
      { file: 'main.go', line: 6, column: 2, message: 'undefined: fmt.Prinln', severity: 'error' },
    ]);
  });

  it('pairs a Rust error header with its --> location', () => {
    const stderr = [
      'error[E0425]: cannot find value `y` in this scope',
      ' --> src/main.rs:3:20',
      '  |',
      'warning: unused variable: `x`',
      '  --> src/main.rs:2:9',
      'error: aborting due to 1 previous error',
    ].join('\n');
    expect(parseDiagnostics(stderr, ['main.rs'])).toEqual([
      { file: 'main.rs', line: 3, column: 20, message: 'cannot find value `y` in this scope', severity: 'error' },
      { file: 'main.rs', line: 2, column: 9, message: 'unused variable: `x`', severity: 'warning' },
    ]);
  });

  it('reads a Node error header and the exception after the code excerpt', () => {
    const stderr = [
      '/sandbox/main.js:3',
      'foo();',
      '^',
      '',
      'ReferenceError: foo is not defined',
      '    at Object.<anonymous> (/sandbox/main.js:3:1)',
    ].join('\n');
    expect(parseDiagnostics(stderr, ['main.js'])).toEqual([
      { file: 'main.js', line: 3, message: 'ReferenceError: foo is not defined', severity: 'error' },
    ]);
  });

  it('finds nothing in ordinary output or in files that are not the pad\u2019s', () => {
    expect(parseDiagnostics('hello\nresult: 42\n', ['main.py'])).toEqual([]);
    expect(parseDiagnostics('  File "/usr/lib/x.py", line 3, in f\nValueError: bad\n', ['main.py'])).toEqual([]);
  });

  it('keeps one marker per repeated error and stops at the cap', () => {
    const same = 'main.c:1:1: error: boom\n'.repeat(3);
    expect(parseDiagnostics(same, ['main.c'])).toHaveLength(1);
    const many = Array.from({ length: MAX_DIAGNOSTICS + 20 }, (_, i) => `main.c:${i + 1}:1: error: e${i}`).join('\n');
    expect(parseDiagnostics(many, ['main.c'])).toHaveLength(MAX_DIAGNOSTICS);
  });
});

describe('matchFile', () => {
  it('prefers an exact name, then the longest path suffix', () => {
    expect(matchFile('./main.go', ['main.go'])).toBe('main.go');
    expect(matchFile('/a/b/lib/util.py', ['util.py', 'lib/util.py'])).toBe('lib/util.py');
    expect(matchFile('/a/notmain.py', ['main.py'])).toBeUndefined();
  });
});

describe('stderrText', () => {
  it('keeps only what went to stderr, one row a line', () => {
    const out = new OutputBuffer();
    out.append('stdout', 'hello\n');
    out.append('stderr', '  File "main.py", line 2, in <module>\n');
    out.append('stdout', 'more\n');
    out.append('stderr', 'NameError: x\n');
    expect(stderrText(out)).toBe('  File "main.py", line 2, in <module>\nNameError: x');
  });
});
