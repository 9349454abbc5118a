// What the pad showed at an instant, derived from the timeline events up to it (pure; unit-tested):
// the file list, chat, the latest run and its output, the activity markers, and one track per
// participant.
import type { TimelineEvent } from '../../api';
import { personHue } from '../../ui/personColor';
import { describeIntegrity } from '../interview/integrity';

export interface FileEntry {
  /** The file's id: its text is the document root `file:<id>`. */
  id?: number;
  name: string;
  language: string;
}

/** The file list of the newest `files` event among the first `n` events, else null. */
export function listedFilesThrough(events: readonly TimelineEvent[], n: number): FileEntry[] | null {
  for (let i = Math.min(n, events.length) - 1; i >= 0; i--) {
    const ev = events[i];
    if (ev.kind !== 'files') continue;
    const files = ev.data?.files;
    if (!Array.isArray(files)) continue;
    return files
      .filter((f): f is { id?: unknown; name: string; language?: unknown } => !!f && typeof (f as { name?: unknown }).name === 'string')
      .map((f) => ({
        ...(typeof f.id === 'number' ? { id: f.id } : {}),
        name: f.name,
        language: typeof f.language === 'string' ? f.language : '',
      }));
  }
  return null;
}

/**
 * The files shown: the listed ones (in their order) plus any other file with text (as the server
 * does: a deleted file's text is emptied, so it drops out; an empty listed file stays).
 */
export function visibleFiles(listed: readonly FileEntry[] | null, texts: readonly { name: string; length: number }[]): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  for (const f of listed ?? []) {
    if (seen.has(f.name)) continue;
    seen.add(f.name);
    out.push(f.name);
  }
  const extra = texts.filter((t) => t.length > 0 && !seen.has(t.name)).map((t) => t.name).sort();
  return out.concat(extra);
}

export interface ChatItem {
  at: number;
  userId: number | null;
  name: string;
  body: string;
}

export function chatThrough(events: readonly TimelineEvent[], n: number): ChatItem[] {
  const out: ChatItem[] = [];
  for (let i = 0; i < Math.min(n, events.length); i++) {
    const ev = events[i];
    if (ev.kind !== 'chat' || typeof ev.data?.body !== 'string') continue;
    out.push({ at: ev.at, userId: ev.userId, name: ev.userName ?? 'someone', body: ev.data.body });
  }
  return out;
}

export interface RunAt {
  at: number;
  by: string | null;
  entry: string | null;
  language: string | null;
  /** The run had not finished at the instant shown. */
  running: boolean;
  finishedAt: number | null;
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  oomKilled: boolean;
  truncated: boolean;
  outcome: string | null;
  stdout: string;
  stderr: string;
}

/** The latest run started among the first `n` events, as it looked at instant `t`. */
export function runAt(events: readonly TimelineEvent[], n: number, t: number): RunAt | null {
  for (let i = Math.min(n, events.length) - 1; i >= 0; i--) {
    const ev = events[i];
    if (ev.kind !== 'run') continue;
    const d = ev.data ?? {};
    const finishedAt = typeof d.finishedAt === 'number' ? d.finishedAt : null;
    const str = (v: unknown) => (typeof v === 'string' ? v : null);
    return {
      at: ev.at,
      by: ev.userName,
      entry: str(d.entry),
      language: str(d.language),
      running: finishedAt != null && t < finishedAt,
      finishedAt,
      exitCode: typeof d.exitCode === 'number' ? d.exitCode : null,
      signal: str(d.signal),
      timedOut: d.timedOut === true,
      oomKilled: d.oomKilled === true,
      truncated: d.truncated === true,
      outcome: str(d.outcome),
      stdout: str(d.stdout) ?? '',
      stderr: str(d.stderr) ?? '',
    };
  }
  return null;
}

/** One line describing how a replayed run ended. */
export function describeRun(run: RunAt): { text: string; tone: 'ok' | 'bad' | 'warn' } {
  if (run.running) return { text: 'running…', tone: 'warn' };
  if (run.timedOut) return { text: 'timed out', tone: 'warn' };
  if (run.oomKilled) return { text: 'out of memory (killed)', tone: 'bad' };
  if (run.exitCode === 0) return { text: 'exit 0', tone: 'ok' };
  if (run.exitCode != null) return { text: `exit ${run.exitCode}`, tone: 'bad' };
  if (run.signal) return { text: `killed by ${run.signal}`, tone: 'bad' };
  return { text: run.outcome ?? 'finished', tone: 'warn' };
}

export type MarkerKind = 'run' | 'chat' | 'join' | 'leave' | 'files' | 'terminal' | 'integrity';

export interface Marker {
  at: number;
  kind: MarkerKind;
  label: string;
  /** Index of the event in the timeline. */
  index: number;
}

/** The moments worth jumping to (everything but edits and raw terminal output). */
export function markersOf(events: readonly TimelineEvent[]): Marker[] {
  const out: Marker[] = [];
  events.forEach((ev, index) => {
    const who = ev.userName ?? 'someone';
    switch (ev.kind) {
      case 'run': {
        const entry = typeof ev.data?.entry === 'string' ? ` ${ev.data.entry}` : '';
        out.push({ at: ev.at, kind: 'run', label: `${who} ran${entry}`, index });
        break;
      }
      case 'chat': {
        const body = typeof ev.data?.body === 'string' ? ev.data.body : '';
        out.push({ at: ev.at, kind: 'chat', label: `${who}: ${body.length > 60 ? body.slice(0, 57) + '…' : body}`, index });
        break;
      }
      case 'join':
        out.push({ at: ev.at, kind: 'join', label: `${who} joined`, index });
        break;
      case 'leave':
        out.push({ at: ev.at, kind: 'leave', label: `${who} left`, index });
        break;
      case 'files': {
        const changes = Array.isArray(ev.data?.changes) ? (ev.data.changes as { op?: unknown; name?: unknown; from?: unknown }[]) : [];
        if (changes.length === 0) break;
        const words = changes.map((c) =>
          c.op === 'renamed' ? `renamed ${String(c.from)} → ${String(c.name)}` : `${String(c.op)} ${String(c.name)}`,
        );
        out.push({ at: ev.at, kind: 'files', label: `Files: ${words.join(', ')}`, index });
        break;
      }
      case 'terminal.status': {
        const state = typeof ev.data?.state === 'string' ? ev.data.state : 'changed';
        out.push({ at: ev.at, kind: 'terminal', label: `Terminal ${state.replace(/_/g, ' ')}`, index });
        break;
      }
      // Only in interviewers' timelines: the server leaves the kind out for everyone else.
      case 'integrity':
        out.push({ at: ev.at, kind: 'integrity', label: `${who} ${describeIntegrity(ev.data ?? {})}`, index });
        break;
      default:
        break;
    }
  });
  return out;
}

/** Sorted instants of activity (every event). */
export function activityTimes(events: readonly TimelineEvent[]): number[] {
  return events.map((e) => e.at);
}

/** How many `terminal` / `terminal.status` events are among the first `n`. */
export function terminalCountThrough(events: readonly TimelineEvent[], n: number): number {
  let count = 0;
  for (let i = 0; i < Math.min(n, events.length); i++) if (events[i].kind === 'terminal' || events[i].kind === 'terminal.status') count++;
  return count;
}

export interface Author {
  userId: number | null;
  name: string;
  hue: number;
}

/** Everyone who edited, in order of first edit. */
export function authorsOf(events: readonly TimelineEvent[]): Author[] {
  const seen = new Map<string, Author>();
  for (const ev of events) {
    if (ev.kind !== 'edit') continue;
    const key = ev.userId != null ? `u${ev.userId}` : `n${ev.userName ?? ''}`;
    if (!seen.has(key)) seen.set(key, { userId: ev.userId, name: ev.userName ?? 'someone', hue: personHue(ev.userId, ev.userName) });
  }
  return Array.from(seen.values());
}

/** Edits or terminal output less than this apart (or 1/200 of the recording) make one block. */
export const TRACK_GAP_MS = 3_000;
/** An edit whose Yjs update is larger than this (bytes) is marked in its author's track. */
export const LARGE_UPDATE_BYTES = 2_048;

export interface TrackBlock {
  from: number;
  to: number;
  /** Events in the block. */
  count: number;
  /** An edit of the block carried a large update (pasted or generated text, reported or not). */
  large: boolean;
}

export interface Track {
  key: string;
  kind: 'person' | 'terminal';
  label: string;
  userId: number | null;
  blocks: TrackBlock[];
  /** Integrity markers of this participant (interviewers' timelines only). */
  markers: Marker[];
}

/** Bytes of a base64 text (the timeline carries each edit's update so). */
function base64Bytes(text: unknown): number {
  return typeof text === 'string' ? Math.floor((text.length * 3) / 4) : 0;
}

function addToBlocks(blocks: TrackBlock[], at: number, gap: number, large: boolean) {
  const last = blocks[blocks.length - 1];
  if (last && at - last.to <= gap) {
    last.to = at;
    last.count += 1;
    last.large ||= large;
  } else {
    blocks.push({ from: at, to: at, count: 1, large });
  }
}

/**
 * One track per participant who edited (who typed what, when: blocks of edits, in order of first
 * edit) with their integrity markers, then the shared terminal's output when there is any.
 */
export function tracksOf(events: readonly TimelineEvent[], durationMs: number): Track[] {
  const gap = Math.max(TRACK_GAP_MS, durationMs / 200);
  const people = new Map<string, Track>();
  const terminal: Track = { key: 'terminal', kind: 'terminal', label: 'Terminal', userId: null, blocks: [], markers: [] };
  const person = (ev: TimelineEvent) => {
    const key = ev.userId != null ? `u${ev.userId}` : `n${ev.userName ?? ''}`;
    let track = people.get(key);
    if (!track) {
      track = { key, kind: 'person', label: ev.userName ?? 'someone', userId: ev.userId, blocks: [], markers: [] };
      people.set(key, track);
    }
    return track;
  };
  events.forEach((ev, index) => {
    if (ev.kind === 'edit') {
      addToBlocks(person(ev).blocks, ev.at, gap, base64Bytes(ev.data?.update) > LARGE_UPDATE_BYTES);
    } else if (ev.kind === 'terminal') {
      addToBlocks(terminal.blocks, ev.at, gap, false);
    } else if (ev.kind === 'integrity') {
      person(ev).markers.push({ at: ev.at, kind: 'integrity', label: describeIntegrity(ev.data ?? {}), index });
    }
  });
  const tracks = Array.from(people.values());
  return terminal.blocks.length > 0 ? tracks.concat(terminal) : tracks;
}
