// A run as everyone on the pad sees it, built from the socket's `run.*` messages (pure functions,
// unit-tested). Output is kept as consecutive same-stream segments, capped client-side.
import type { RunFinishedEvent, RunOutputEvent, RunStartedEvent } from '../../collab/protocol';

export interface OutputSegment {
  stream: 'stdout' | 'stderr';
  text: string;
}

export interface RunView {
  runId: string;
  startedBy: { userId?: number; name?: string };
  entry?: string;
  language?: string;
  backend?: string;
  startedAt: number;
  segments: OutputSegment[];
  bytes: number;
  /** The client dropped output beyond its own cap (the server also caps and marks `truncated`). */
  clientTruncated: boolean;
  /** Highest `seq` of output applied: replayed and live copies of a chunk count once. */
  lastSeq: number;
  finished: RunFinishedEvent | null;
}

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
    segments: [],
    bytes: 0,
    clientTruncated: false,
    lastSeq: 0,
    finished: null,
  };
}

export function appendOutput(run: RunView, ev: RunOutputEvent): RunView {
  if (ev.runId !== run.runId || typeof ev.data !== 'string' || ev.data === '') return run;
  if (typeof ev.seq === 'number' && ev.seq <= run.lastSeq) return run;
  const lastSeq = typeof ev.seq === 'number' ? ev.seq : run.lastSeq;
  if (run.bytes >= CLIENT_OUTPUT_CAP) return run.clientTruncated ? { ...run, lastSeq } : { ...run, lastSeq, clientTruncated: true };
  const stream = ev.stream === 'stderr' ? 'stderr' : 'stdout';
  let data = ev.data;
  let clientTruncated: boolean = run.clientTruncated;
  if (run.bytes + data.length > CLIENT_OUTPUT_CAP) {
    data = data.slice(0, CLIENT_OUTPUT_CAP - run.bytes);
    clientTruncated = true;
  }
  const segments = run.segments.slice();
  const last = segments[segments.length - 1];
  if (last && last.stream === stream) segments[segments.length - 1] = { stream, text: last.text + data };
  else segments.push({ stream, text: data });
  return { ...run, segments, bytes: run.bytes + data.length, clientTruncated, lastSeq };
}

export function finishRun(run: RunView, ev: RunFinishedEvent): RunView {
  if (ev.runId !== run.runId) return run;
  return { ...run, finished: ev };
}

/** One line describing how a run ended. */
export function describeOutcome(f: RunFinishedEvent): { text: string; tone: 'ok' | 'bad' | 'warn' } {
  if (f.error && f.exitCode == null && !f.timedOut && !f.oomKilled) return { text: `failed: ${f.error}`, tone: 'bad' };
  if (f.timedOut) return { text: 'timed out', tone: 'warn' };
  if (f.oomKilled) return { text: 'out of memory (killed)', tone: 'bad' };
  if (f.exitCode === 0) return { text: 'exit 0', tone: 'ok' };
  if (f.exitCode != null) return { text: `exit ${f.exitCode}`, tone: 'bad' };
  if (f.signal) return { text: `killed by ${f.signal}`, tone: 'bad' };
  return { text: 'finished', tone: 'warn' };
}

/** Apply one run message to the current view (a new `run.started` replaces it). */
export function reduceRun(current: RunView | null, ev: RunStartedEvent | RunOutputEvent | RunFinishedEvent): RunView | null {
  switch (ev.type) {
    case 'run.started':
      // The same run again (a joiner's replay, then the live copy): keep what we have.
      return current && current.runId === ev.runId ? current : startRun(ev);
    // A run that started before we joined (or reconnected): show what arrives from now on.
    case 'run.output':
      return appendOutput(current && current.runId === ev.runId ? current : startRun({ type: 'run.started', runId: ev.runId }), ev);
    case 'run.finished':
      return finishRun(current && current.runId === ev.runId ? current : startRun({ type: 'run.started', runId: ev.runId }), ev);
    default:
      return current;
  }
}
