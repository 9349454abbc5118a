// Compiler and interpreter errors from a run's stderr, as (file, line, message) for inline markers.
// Each toolchain prints its own format; only locations in one of the pad's files are kept, matched by
// path suffix (the sandbox runs in its own directory, so `/tmp/x/main.js` is the pad's `main.js`).

export type DiagnosticSeverity = 'error' | 'warning' | 'info';

export interface RunDiagnostic {
  /** The pad file's name, as in the file list. */
  file: string;
  line: number;
  /** 1-based; absent when the tool names only the line. */
  column?: number;
  message: string;
  severity: DiagnosticSeverity;
}

/** Most markers shown for one run: a cascade of errors past this is noise, not help. */
export const MAX_DIAGNOSTICS = 50;

const PATH = String.raw`[^\s:"'()]+`;
const PYTHON_FRAME = /^\s*File "([^"]+)", line (\d+)/;
const GCC = new RegExp(String.raw`^(${PATH}):(\d+):(\d+): (fatal error|error|warning|note): (.*)$`);
const JAVAC = new RegExp(String.raw`^(${PATH}\.java):(\d+): (error|warning): (.*)$`);
const GO = new RegExp(String.raw`^(${PATH}\.go):(\d+):(\d+): (.*)$`);
const RUST_HEADER = /^(error|warning)(?:\[\w+\])?: (.*)$/;
const RUST_ARROW = new RegExp(String.raw`^\s*--> (${PATH}):(\d+):(\d+)`);
const NODE_HEADER = new RegExp(String.raw`^(${PATH}\.(?:js|mjs|cjs|ts)):(\d+)$`);
const EXCEPTION_LINE = /^[A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt|Warning)\b/;

function severityOf(word: string): DiagnosticSeverity {
  if (word.endsWith('error')) return 'error';
  return word === 'warning' ? 'warning' : 'info';
}

/** The pad file a reported path means, if any: an exact name, else the longest path suffix. */
export function matchFile(reported: string, files: readonly string[]): string | undefined {
  const path = reported.replace(/\\/g, '/').replace(/^\.\//, '');
  if (files.includes(path)) return path;
  let best: string | undefined;
  for (const f of files) {
    if (path.endsWith(`/${f}`) && (!best || f.length > best.length)) best = f;
  }
  return best;
}

/** Diagnostics in the order the tool printed them, without duplicates, at most MAX_DIAGNOSTICS. */
export function parseDiagnostics(stderr: string, files: readonly string[]): RunDiagnostic[] {
  const out: RunDiagnostic[] = [];
  const seen = new Set<string>();
  const add = (reported: string, line: number, column: number | undefined, message: string, severity: DiagnosticSeverity) => {
    const file = matchFile(reported, files);
    if (!file || !(line >= 1)) return;
    const key = `${file}:${line}:${message}`;
    if (seen.has(key) || out.length >= MAX_DIAGNOSTICS) return;
    seen.add(key);
    out.push({ file, line, ...(column && column >= 1 ? { column } : {}), message: message.trim(), severity });
  };

  // A traceback's innermost frame in a pad file waits for the exception line that ends it.
  let pythonFrame: { file: string; line: number } | null = null;
  let nodeAt: { file: string; line: number } | null = null;
  let rustHeader: { message: string; severity: DiagnosticSeverity } | null = null;

  for (const raw of stderr.split('\n')) {
    const text = raw.replace(/\r$/, '');
    let m: RegExpMatchArray | null;
    if ((m = PYTHON_FRAME.exec(text))) {
      if (matchFile(m[1], files)) pythonFrame = { file: m[1], line: Number(m[2]) };
      continue;
    }
    if (pythonFrame && EXCEPTION_LINE.test(text)) {
      add(pythonFrame.file, pythonFrame.line, undefined, text, 'error');
      pythonFrame = null;
      continue;
    }
    if (nodeAt && EXCEPTION_LINE.test(text)) {
      add(nodeAt.file, nodeAt.line, undefined, text, 'error');
      nodeAt = null;
      continue;
    }
    if ((m = RUST_HEADER.exec(text))) {
      rustHeader = { message: m[2], severity: severityOf(m[1]) };
      continue;
    }
    if (rustHeader && (m = RUST_ARROW.exec(text))) {
      add(m[1], Number(m[2]), Number(m[3]), rustHeader.message, rustHeader.severity);
      rustHeader = null;
      continue;
    }
    if ((m = GCC.exec(text))) {
      add(m[1], Number(m[2]), Number(m[3]), m[5], severityOf(m[4]));
      continue;
    }
    if ((m = JAVAC.exec(text))) {
      add(m[1], Number(m[2]), undefined, m[4], severityOf(m[3]));
      continue;
    }
    if ((m = GO.exec(text))) {
      add(m[1], Number(m[2]), Number(m[3]), m[4], 'error');
      continue;
    }
    if ((m = NODE_HEADER.exec(text)) && matchFile(m[1], files)) {
      nodeAt = { file: m[1], line: Number(m[2]) };
    }
  }
  return out;
}

/** What a run wrote to stderr, line by line, from its output rows (stdout parts left out). */
export function stderrText(output: { rowCount: number; row(index: number): readonly { stream: string; text: string }[] }): string {
  const lines: string[] = [];
  for (let i = 0; i < output.rowCount; i++) {
    const spans = output.row(i).filter((s) => s.stream === 'stderr');
    if (spans.length > 0) lines.push(spans.map((s) => s.text).join(''));
  }
  return lines.join('\n');
}
