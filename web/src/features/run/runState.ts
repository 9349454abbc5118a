// A run (or a REPL session after one) as everyone on the pad sees it, built from the socket's
// `run.*` messages. Output goes into an OutputBuffer appended in place (a view is a new object
// with a new `version`, sharing the buffer), capped client-side; chunks of another run id never
// enter a run's buffer.
import type { RunEofEvent, RunFinishedEvent, RunOutputEvent, RunStartedEvent } from '../../collab/protocol';
import type { RunLimits, StoredRun } from '../../api/types';
import { OutputBuffer, type OutputStream } from './outputBuffer';

export interface RunView {
  runId: string;
  startedBy: { userId?: number; name?: string };
  entry?: string;
  language?: string;
  backend?: string;
  startedAt: number;
  output: OutputBuffer;
  /** Bumped on every change to `output`, so subscribers see a changed run. */
  version: number;
  /** The client dropped output beyond its own cap (the server also caps and marks `truncated`). */
  clientTruncated: boolean;
  /** Highest `seq` of output applied: replayed and live copies of a chunk count once. */
  lastSeq: number;
  finished: RunFinishedEvent | null;
  /** The program reads console input typed on the pad (until `inputClosed`). */
  interactive: boolean;
  /** Someone ended the console input (Ctrl-D). */
  inputClosed: boolean;
  /** A REPL session: the console evaluates what is typed in the program's context. */
  repl: boolean;
}

export type RunEvent = RunStartedEvent | RunOutputEvent | RunFinishedEvent | RunEofEvent;

/** Client-side cap on kept output (the server caps at 1 MiB by default). */
export const CLIENT_OUTPUT_CAP = 2 * 1024 * 1024;

export function startRun(ev: RunStartedEvent, now = Date.now()): RunView {
  const at = typeof ev.at === 'number' ? ev.at : typeof ev.at === 'string' ? Date.parse(ev.at) : NaN;
  return {
    runId: ev.runId,
    startedBy: { userId: ev.userId, name: ev.name },
    entry: ev.entry,
    language: ev.language,
    backend: typeof ev.backend === 'string' ? ev.backend : undefined,
    startedAt: Number.isFinite(at) ? at : now,
    output: new OutputBuffer(),
    version: 0,
    clientTruncated: false,
    lastSeq: 0,
    finished: null,
    interactive: ev.interactive === true,
    inputClosed: false,
    repl: ev.kind === 'repl',
  };
}

/** Whether the console takes input now: a live interactive run whose input is still open. */
export function acceptsInput(run: RunView | null): boolean {
  return !!run && run.interactive && !run.inputClosed && !run.finished;
}

export function appendOutput(run: RunView, ev: RunOutputEvent): RunView {
  if (ev.runId !== run.runId || typeof ev.data !== 'string' || ev.data === '') return run;
  if (typeof ev.seq === 'number' && ev.seq <= run.lastSeq) return run;
  const lastSeq = typeof ev.seq === 'number' ? ev.seq : run.lastSeq;
  const room = CLIENT_OUTPUT_CAP - run.output.chars;
  if (room <= 0) return run.clientTruncated ? { ...run, lastSeq } : { ...run, lastSeq, clientTruncated: true };
  const stream = ev.stream === 'stderr' || ev.stream === 'stdin' ? ev.stream : 'stdout';
  run.output.append(stream, ev.data.length > room ? ev.data.slice(0, room) : ev.data);
  return { ...run, version: run.version + 1, clientTruncated: run.clientTruncated || ev.data.length > room, lastSeq };
}

export function finishRun(run: RunView, ev: RunFinishedEvent): RunView {
  if (ev.runId !== run.runId) return run;
  return { ...run, finished: ev, repl: run.repl || ev.kind === 'repl' };
}

/** Apply one run message to the current view (a new `run.started` replaces it). */
export function reduceRun(current: RunView | null, ev: RunEvent): RunView | null {
  switch (ev.type) {
    case 'run.started':
      // The same run again (a joiner's replay, then the live copy): keep what we have.
      return current && current.runId === ev.runId ? current : startRun(ev);
    // A run that started before we joined (or reconnected): show what arrives from now on.
    case 'run.output':
      return appendOutput(current && current.runId === ev.runId ? current : startRun({ type: 'run.started', runId: ev.runId }), ev);
    case 'run.finished':
      return finishRun(current && current.runId === ev.runId ? current : startRun({ type: 'run.started', runId: ev.runId }), ev);
    case 'run.eof':
      return current && current.runId === ev.runId ? { ...current, inputClosed: true } : current;
    default:
      return current;
  }
}

/** The output of a stored run as the pieces clients saw live: its layout (`[["o"|"i"|"e", UTF-16
 * units], …]`) walks stdout (output `o` and console input `i`) and stderr (`e`) in order. A run
 * stored before layouts were kept shows stdout, then stderr. Text the layout does not cover (it
 * never should) is shown after it rather than lost. */
export function storedPieces(stored: Pick<StoredRun, 'stdout' | 'stderr' | 'layout'>): Array<{ stream: OutputStream; data: string }> {
  const pieces: Array<{ stream: OutputStream; data: string }> = [];
  let out = 0;
  let err = 0;
  for (const [code, units] of stored.layout ?? []) {
    if (code === 'e') {
      pieces.push({ stream: 'stderr', data: stored.stderr.slice(err, err + units) });
      err += units;
    } else {
      pieces.push({ stream: code === 'i' ? 'stdin' : 'stdout', data: stored.stdout.slice(out, out + units) });
      out += units;
    }
  }
  if (out < stored.stdout.length) pieces.push({ stream: 'stdout', data: stored.stdout.slice(out) });
  if (err < stored.stderr.length) pieces.push({ stream: 'stderr', data: stored.stderr.slice(err) });
  return pieces.filter((p) => p.data.length > 0);
}

/** A stored run (after a reload) as a finished view, output interleaved as it was shown live
 * (`storedPieces`) and naming who stopped it. `limits` are those of a run, `replLimits` of a REPL. */
export function storedRunView(stored: StoredRun, limits: RunLimits | undefined, replLimits?: RunLimits): RunView {
  let view = startRun({
    type: 'run.started',
    runId: stored.runId,
    kind: stored.kind,
    userId: stored.userId ?? undefined,
    name: stored.userName ?? undefined,
    entry: stored.entry,
    language: stored.language,
    backend: stored.backend,
    at: stored.startedAtMs,
  });
  for (const piece of storedPieces(stored)) {
    view = appendOutput(view, { type: 'run.output', runId: stored.runId, stream: piece.stream, data: piece.data });
  }
  return {
    ...view,
    finished: {
      type: 'run.finished',
      runId: stored.runId,
      exitCode: stored.exitCode,
      signal: stored.signal,
      timedOut: stored.timedOut,
      oomKilled: stored.oomKilled,
      truncated: stored.truncated,
      durationMs: Math.max(0, stored.finishedAtMs - stored.startedAtMs),
      backend: stored.backend,
      outcome: stored.outcome,
      stoppedBy: stored.stoppedBy ?? null,
      kind: stored.kind,
      limits: stored.kind === 'repl' ? replLimits : limits,
    },
  };
}

/** "1 MiB", "512 KiB", "300 bytes". */
export function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024 && bytes % (1024 * 1024) === 0) return `${bytes / (1024 * 1024)} MiB`;
  if (bytes >= 1024 * 1024) return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
  if (bytes >= 1024) return `${Math.round(bytes / 1024)} KiB`;
  return `${bytes} bytes`;
}

/** A limit's length: "10 s", "1.5 s", "5 min", "2.5 min". */
export function formatLimit(ms: number): string {
  if (ms >= 60_000) {
    const min = ms / 60_000;
    return Number.isInteger(min) ? `${min} min` : `${min.toFixed(1)} min`;
  }
  const s = ms / 1000;
  return Number.isInteger(s) ? `${s} s` : `${s.toFixed(1)} s`;
}

/**
 * How a run ended, in plain words: which limit stopped it (with its value), who stopped it, or
 * its exit code. `myName` turns "Stopped by <me>" into "Stopped by you".
 */
export function describeOutcome(f: RunFinishedEvent, me?: { name?: string } | null): { text: string; tone: 'ok' | 'bad' | 'warn' } {
  const limits = f.limits;
  if (f.outcome === 'stopped') {
    const by = f.stoppedBy ? (me?.name && f.stoppedBy === me.name ? 'you' : f.stoppedBy) : null;
    return { text: by ? `Stopped by ${by}` : 'Stopped', tone: 'warn' };
  }
  if (f.kind === 'repl') {
    const ended = describeReplEnd(f);
    if (ended) return ended;
  }
  // The panel shows the sandbox's error itself below the output.
  if (f.error && f.exitCode == null && !f.timedOut && !f.oomKilled) return { text: "Couldn't run", tone: 'bad' };
  if (f.timedOut) return { text: limits ? `Stopped after the ${formatLimit(limits.timeoutMs)} limit` : 'Stopped at the time limit', tone: 'warn' };
  if (f.oomKilled) return { text: limits ? `Out of memory (${limits.memoryMb} MB)` : 'Out of memory', tone: 'bad' };
  if (f.truncated) return { text: limits ? `Output cut at ${formatBytes(limits.outputBytes)}` : 'Output cut at the limit', tone: 'warn' };
  if (f.outcome === 'compile_error') return { text: `Didn't compile${f.exitCode != null ? ` (exit ${f.exitCode})` : ''}`, tone: 'bad' };
  if (f.exitCode === 0) return { text: 'Exit 0', tone: 'ok' };
  if (f.exitCode != null) return { text: `Exit ${f.exitCode}`, tone: 'bad' };
  if (f.signal) return { text: `Killed (${f.signal})`, tone: 'bad' };
  return { text: 'Finished', tone: 'warn' };
}

/** How a REPL session ended where that differs from a run: idle, its lifetime, its own end. */
function describeReplEnd(f: RunFinishedEvent): { text: string; tone: 'ok' | 'warn' } | null {
  const limits = f.limits;
  if (f.outcome === 'idle') {
    return { text: limits?.idleMs ? `REPL closed after ${formatLimit(limits.idleMs)} idle` : 'REPL closed: nobody typed', tone: 'warn' };
  }
  if (f.timedOut) return { text: limits ? `REPL closed at its ${formatLimit(limits.timeoutMs)} limit` : 'REPL closed at its time limit', tone: 'warn' };
  if (f.exitCode === 0 && f.outcome === 'ok') return { text: 'REPL ended', tone: 'ok' };
  return null;
}
