import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import {
  FocusTracker,
  IntegrityReporter,
  LARGE_INSERT_CHARS,
  PendingPaste,
  insertedChars,
  reportForInsertion,
  watchFileInsertions,
  type IntegrityReport,
} from '../src/features/interview/integrity';
import { LARGE_UPDATE_BYTES, markersOf, tracksOf } from '../src/features/playback/derive';

describe('integrity: insertion sizes', () => {
  it('counts inserted UTF-16 code units, not deletions or retained text', () => {
    expect(insertedChars([{ retain: 3 } as { insert?: unknown }, { insert: 'ab😀' }, { delete: 4 } as { insert?: unknown }])).toBe(4);
    expect(insertedChars([])).toBe(0);
  });

  it('reports a paste with the pasted size, a large insertion only past the threshold', () => {
    expect(reportForInsertion(7, 5, 5)).toEqual({ type: 'integrity', kind: 'paste', chars: 5, fileId: 7 });
    expect(reportForInsertion(7, LARGE_INSERT_CHARS, null)).toBeNull();
    expect(reportForInsertion(7, LARGE_INSERT_CHARS + 1, null)).toEqual({
      type: 'integrity',
      kind: 'largeInsert',
      chars: LARGE_INSERT_CHARS + 1,
      fileId: 7,
    });
    expect(reportForInsertion(7, 1, null)).toBeNull();
  });
});

describe('integrity: a file watched through the editor binding', () => {
  const setup = () => {
    const doc = new Y.Doc();
    const text = doc.getText('file:3');
    const origin = { binding: true };
    const sent: IntegrityReport[] = [];
    let pasted: number | null = null;
    const stop = watchFileInsertions(
      text,
      origin,
      3,
      () => {
        const p = pasted;
        pasted = null;
        return p;
      },
      (r) => sent.push(r),
    );
    return { doc, text, origin, sent, stop, paste: (n: number) => (pasted = n) };
  };

  it('reports the local large insertion and the paste, not remote changes nor typing', () => {
    const { doc, text, origin, sent, paste } = setup();
    doc.transact(() => text.insert(0, 'x'), origin);
    doc.transact(() => text.insert(0, 'y'.repeat(LARGE_INSERT_CHARS + 50)), origin);
    doc.transact(() => text.insert(0, 'z'.repeat(LARGE_INSERT_CHARS + 50)), 'remote');
    paste(12);
    doc.transact(() => text.insert(0, 'p'.repeat(12)), origin);
    expect(sent).toEqual([
      { type: 'integrity', kind: 'largeInsert', chars: LARGE_INSERT_CHARS + 50, fileId: 3 },
      { type: 'integrity', kind: 'paste', chars: 12, fileId: 3 },
    ]);
  });

  it('stops when unwatched', () => {
    const { doc, text, origin, sent, stop } = setup();
    stop();
    doc.transact(() => text.insert(0, 'y'.repeat(LARGE_INSERT_CHARS + 1)), origin);
    expect(sent).toEqual([]);
  });
});

describe('integrity: pending paste', () => {
  it('is taken once, and forgotten after the event when no change came', () => {
    const forgets: (() => void)[] = [];
    const paste = new PendingPaste((forget) => forgets.push(forget));
    paste.pasted('héllo');
    expect(paste.take()).toBe(5);
    expect(paste.take()).toBeNull();
    paste.pasted('abc');
    forgets.forEach((f) => f());
    expect(paste.take()).toBeNull();
  });
});

describe('integrity: focus', () => {
  it('reports each transition once: blurred or hidden is away, focused and visible is back', () => {
    const sent: string[] = [];
    const tracker = new FocusTracker((r) => sent.push(r.kind));
    tracker.update(true, true);
    tracker.update(false, true);
    tracker.update(false, false);
    tracker.update(true, false);
    tracker.update(true, true);
    tracker.update(true, true);
    expect(sent).toEqual(['focusLost', 'focusRegained']);
  });
});

describe('integrity: the reporter', () => {
  it('sends nothing unless enabled (only a candidate reports)', () => {
    const doc = new Y.Doc();
    const text = doc.getText('file:1');
    const origin = {};
    const sent: IntegrityReport[] = [];
    let candidate = false;
    const reporter = new IntegrityReporter(
      (r) => sent.push(r),
      () => candidate,
    );
    reporter.watchFile(text, origin, 1);
    reporter.pasted('x'.repeat(40));
    doc.transact(() => text.insert(0, 'y'.repeat(LARGE_INSERT_CHARS + 1)), origin);
    expect(sent).toEqual([]);
    candidate = true;
    reporter.pasted('x'.repeat(40));
    doc.transact(() => text.insert(0, 'x'.repeat(40)), origin);
    expect(sent).toEqual([{ type: 'integrity', kind: 'paste', chars: 40, fileId: 1 }]);
  });
});

describe('playback: one track per participant', () => {
  const ev = (at: number, kind: string, userId: number | null, userName: string | null, data: Record<string, unknown> = {}) => ({
    at,
    kind,
    userId,
    userName,
    data,
  });

  it('groups each author’s edits into blocks, marks large updates and integrity reports, adds the terminal', () => {
    const big = 'A'.repeat(Math.ceil(((LARGE_UPDATE_BYTES + 10) * 4) / 3));
    const events = [
      ev(1_000, 'edit', 1, 'Ada', { update: 'AAAA' }),
      ev(1_500, 'edit', 2, 'Cam', { update: 'AAAA' }),
      ev(2_000, 'edit', 1, 'Ada', { update: 'AAAA' }),
      ev(60_000, 'edit', 1, 'Ada', { update: big }),
      ev(61_000, 'integrity', 2, 'Cam', { kind: 'paste', chars: 40, file: 'main.py' }),
      ev(62_000, 'terminal', null, null, { text: 'ls\n' }),
      ev(63_000, 'chat', 2, 'Cam', { body: 'hi' }),
    ];
    const tracks = tracksOf(events, 100_000);
    expect(tracks.map((t) => [t.label, t.kind])).toEqual([
      ['Ada', 'person'],
      ['Cam', 'person'],
      ['Terminal', 'terminal'],
    ]);
    expect(tracks[0].blocks).toEqual([
      { from: 1_000, to: 2_000, count: 2, large: false },
      { from: 60_000, to: 60_000, count: 1, large: true },
    ]);
    expect(tracks[1].markers.map((m) => m.label)).toEqual(['pasted 40 characters into main.py']);
    expect(tracks[2].blocks).toHaveLength(1);
    expect(markersOf(events).filter((m) => m.kind === 'integrity').map((m) => m.label)).toEqual([
      'Cam pasted 40 characters into main.py',
    ]);
  });

  it('has no terminal track without terminal output', () => {
    expect(tracksOf([ev(1, 'edit', 1, 'Ada')], 10).map((t) => t.key)).toEqual(['u1']);
  });
});
