// The pad's document at the playhead: a Y.Doc started from a state the server rebuilt (from its
// checkpoints) and moved forward by applying the timeline's edit updates, so playing never asks
// the server per frame and never replays from the beginning. Yjs updates are idempotent, so an
// edit already folded into the starting state applies as a no-op. Each edit is applied with an
// `EditOrigin` naming its author, which the editor reads to colour recent changes.
// File texts are the roots `file:<id>`; documents from before file ids keyed them by name
// (`file:<name>`) until the server re-keyed them, so a root that is not a known id is a name.
import * as Y from 'yjs';
import type { TimelineEvent } from '../../api';
import { countThrough } from './timeline';

export const FILE_PREFIX = 'file:';

/** The transaction origin of an applied edit. */
export interface EditOrigin {
  kind: 'edit';
  userId: number | null;
  userName: string | null;
  at: number;
  files: string[];
}

export function isEditOrigin(origin: unknown): origin is EditOrigin {
  return !!origin && typeof origin === 'object' && (origin as { kind?: unknown }).kind === 'edit';
}

export function fromBase64(b64: string): Uint8Array {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

export class PlaybackDoc {
  readonly doc = new Y.Doc();
  /** The instant the document shows: every edit at or before it is applied. */
  at: number;
  /** Edits that failed to decode or apply (shown as a warning; the rest still plays). */
  failures = 0;

  constructor(yjsState: string | undefined | null, at: number) {
    this.at = at;
    if (yjsState) Y.applyUpdate(this.doc, fromBase64(yjsState), 'base');
  }

  /**
   * Apply the loaded edits in (this.at, t]. `events` must be complete through `t`. Returns the
   * edit events applied (in order).
   */
  applyThrough(events: readonly TimelineEvent[], t: number): TimelineEvent[] {
    if (t <= this.at) return [];
    const from = countThrough(events, this.at);
    const to = countThrough(events, t);
    const applied: TimelineEvent[] = [];
    for (let i = from; i < to; i++) {
      const ev = events[i];
      if (ev.kind !== 'edit') continue;
      const update = ev.data?.update;
      if (typeof update !== 'string') continue;
      const files = Array.isArray(ev.data.files) ? (ev.data.files as unknown[]).filter((f): f is string => typeof f === 'string') : [];
      const origin: EditOrigin = { kind: 'edit', userId: ev.userId, userName: ev.userName, at: ev.at, files };
      try {
        Y.applyUpdate(this.doc, fromBase64(update), origin);
        applied.push(ev);
      } catch {
        this.failures += 1;
      }
    }
    this.at = t;
    return applied;
  }

  /** File names by id (as a root suffix), from the file lists known at the playhead. */
  private names = new Map<string, string>();

  /** Learn which file each id is (later entries win: pass older lists first). */
  setFileIds(files: readonly { id?: number; name: string }[]) {
    for (const f of files) if (typeof f.id === 'number') this.names.set(String(f.id), f.name);
  }

  /** The file name a root suffix stands for; null for an id no list names. */
  private nameOf(suffix: string): string | null {
    const named = this.names.get(suffix);
    if (named !== undefined) return named;
    return /^[1-9][0-9]*$/.test(suffix) ? null : suffix;
  }

  /** Names of every file the document has a text for. */
  fileNames(): string[] {
    const names = new Set<string>();
    for (const key of this.doc.share.keys()) {
      if (!key.startsWith(FILE_PREFIX)) continue;
      const name = this.nameOf(key.slice(FILE_PREFIX.length));
      if (name !== null) names.add(name);
    }
    return [...names];
  }

  /** The text of a file: its id root, or the name root of a document not yet keyed by id. */
  text(name: string): Y.Text {
    let byId: string | null = null;
    for (const [id, n] of this.names) if (n === name) byId = FILE_PREFIX + id;
    const byName = FILE_PREFIX + name;
    if (byId && (this.doc.share.has(byId) || !this.doc.share.has(byName))) return this.doc.getText(byId);
    return this.doc.getText(byName);
  }

  destroy() {
    this.doc.destroy();
  }
}
