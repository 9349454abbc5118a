import { describe, expect, it, vi } from 'vitest';
import * as Y from 'yjs';
import type { RecordingState, TimelineEvent, TimelinePage } from '../src/api/types';
import { advance, GAP_CAP_MS, gapAround, nextTime, playDuration, prevTime, rateFor } from '../src/features/playback/clock';
import { PlaybackController } from '../src/features/playback/controller';
import { chatThrough, listedFilesThrough, markersOf, runAt, visibleFiles } from '../src/features/playback/derive';
import { PlaybackDoc } from '../src/features/playback/playbackDoc';
import { planSeek, StateCache } from '../src/features/playback/stateCache';
import { terminalText, TerminalTranscript } from '../src/features/playback/terminalText';
import { countThrough, loadedThrough, mergeEvents, TimelineLoader } from '../src/features/playback/timeline';

const ev = (at: number, kind = 'join', data: Record<string, unknown> = {}, userId: number | null = 1): TimelineEvent => ({
  at,
  kind,
  userId,
  userName: userId == null ? null : `u${userId}`,
  data,
});
const edit = (at: number, updateId: number, update = '') => ev(at, 'edit', { updateId, files: ['main.py'], update });

function b64(bytes: Uint8Array): string {
  let s = '';
  bytes.forEach((b) => (s += String.fromCharCode(b)));
  return btoa(s);
}

describe('timeline pagination and merge', () => {
  it('appends pages in order and drops events it already has', () => {
    const a = [edit(10, 1), ev(10, 'join'), edit(12, 2)];
    const merged = mergeEvents(a, [edit(12, 2), ev(13, 'chat', { messageId: 5, body: 'hi' }), edit(15, 3)]);
    expect(merged.map((e) => e.at)).toEqual([10, 10, 12, 13, 15]);
    expect(mergeEvents(merged, [edit(15, 3)])).toBe(merged);
    expect(mergeEvents(merged, [])).toBe(merged);
  });

  it('keeps time order (stably) even if a page comes out of order', () => {
    const merged = mergeEvents([edit(10, 1), edit(30, 3)], [ev(20, 'join'), ev(20, 'leave')]);
    expect(merged.map((e) => `${e.at}${e.kind}`)).toEqual(['10edit', '20join', '20leave', '30edit']);
  });

  it('knows how far the loaded events are complete', () => {
    expect(loadedThrough([], true, 100, 0)).toBe(-1);
    expect(loadedThrough([edit(40, 1)], true, 100, 0)).toBe(39); // more of ms 40 may follow
    expect(loadedThrough([edit(40, 1)], false, 100, 0)).toBe(100);
    expect(countThrough([edit(1, 1), edit(2, 2), edit(2, 3), edit(5, 4)], 2)).toBe(3);
  });

  it('loads pages lazily, one request at a time, until an instant is covered', async () => {
    const pages: TimelinePage[] = [
      { events: [edit(0, 1), edit(10, 2)], nextCursor: 'c1', hasMore: true },
      { events: [edit(20, 3), edit(30, 4)], nextCursor: 'c2', hasMore: true },
      { events: [edit(40, 5)], nextCursor: 'c3', hasMore: false },
    ];
    const asked: (string | undefined)[] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    const fetchPage = vi.fn(async (after: string | undefined) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      asked.push(after);
      await new Promise((r) => setTimeout(r, 1));
      inFlight--;
      return pages[asked.length - 1];
    });
    const loader = new TimelineLoader(fetchPage, 0, 50);
    await loader.ensure(5);
    expect(asked).toEqual([undefined]);
    expect(loader.snapshot().through).toBe(9);
    const p1 = loader.ensure(25);
    const p2 = loader.ensure(25); // joins the running load
    await Promise.all([p1, p2]);
    expect(asked).toEqual([undefined, 'c1']);
    await loader.ensure(1000);
    expect(asked).toEqual([undefined, 'c1', 'c2']);
    expect(maxInFlight).toBe(1);
    const snap = loader.snapshot();
    expect(snap.hasMore).toBe(false);
    expect(snap.through).toBe(50);
    expect(snap.events.map((e) => e.data.updateId)).toEqual([1, 2, 3, 4, 5]);
    await loader.ensure(1000);
    expect(fetchPage).toHaveBeenCalledTimes(3);
  });

  it('stops on an error and resumes from the same cursor on retry', async () => {
    let fail = true;
    const asked: (string | undefined)[] = [];
    const loader = new TimelineLoader(async (after) => {
      asked.push(after);
      if (after === 'c1' && fail) throw new Error('boom');
      return after ? { events: [edit(20, 2)], nextCursor: 'c2', hasMore: false } : { events: [edit(5, 1)], nextCursor: 'c1', hasMore: true };
    }, 0, 30);
    await loader.ensure(30);
    expect(loader.snapshot().error).toBeTruthy();
    fail = false;
    await loader.retry();
    expect(asked).toEqual([undefined, 'c1', 'c1']);
    expect(loader.snapshot().error).toBeNull();
    expect(loader.snapshot().events).toHaveLength(2);
  });

  it('does not loop forever on a server that repeats its cursor', async () => {
    const loader = new TimelineLoader(async () => ({ events: [], nextCursor: 'same', hasMore: true }), 0, 10);
    await loader.ensure(10);
    await loader.ensure(10);
    expect(loader.pages).toBeLessThanOrEqual(2);
  });
});

describe('playback clock', () => {
  const times = [1000, 1100, 1200, 9200, 9300];
  const base = { times, start: 1000, end: 10_000, speed: 1 };

  it('plays busy stretches at the chosen speed', () => {
    expect(advance({ ...base, t: 1000, dtMs: 50 })).toBe(1050);
    expect(advance({ ...base, t: 1000, dtMs: 50, speed: 2 })).toBe(1100);
    expect(advance({ ...base, t: 1000, dtMs: 50, speed: 0.5 })).toBe(1025);
    // 8×: 1000 → 1200 in 25 ms, then 25 ms more into the (8 s, so 1 s at 8×) quiet stretch.
    expect(advance({ ...base, t: 1000, dtMs: 50, speed: 8 })).toBe(1400);
  });

  it('fits an idle gap into the cap, whatever its length', () => {
    // The gap 1200 → 9200 (8 s) at 1× takes 2 s of real time, not 8.
    expect(rateFor(8000, 1)).toBe(4);
    expect(rateFor(8000, 8)).toBe(8); // at 8× it already fits
    expect(advance({ ...base, t: 1200, dtMs: GAP_CAP_MS })).toBe(9200);
    expect(advance({ ...base, t: 1200, dtMs: GAP_CAP_MS / 2 })).toBe(5200);
    // Crossing from a busy stretch into the gap switches rate at the boundary.
    expect(advance({ ...base, t: 1150, dtMs: 50 + 500 })).toBe(1200 + 500 * 4);
  });

  it('never passes the end or what is loaded', () => {
    expect(advance({ ...base, t: 9900, dtMs: 10_000 })).toBe(10_000);
    expect(advance({ ...base, t: 1000, dtMs: 10_000, limit: 1150 })).toBe(1150);
    expect(advance({ ...base, t: 500, dtMs: 0 })).toBe(1000);
  });

  it('plays a whole recording in about the capped time', () => {
    // 200 ms busy, 8 s idle (→ 2 s), 100 ms busy, 700 ms tail (< cap, so real time).
    expect(playDuration(times, 1000, 10_000, 1)).toBeCloseTo(200 + 2000 + 100 + 700, 5);
    expect(playDuration(times, 1000, 10_000, 4)).toBeCloseTo(50 + 2000 + 25 + 175, 5);
  });

  it('steps between moments of activity', () => {
    expect(nextTime(times, 1000, 10_000)).toBe(1100);
    expect(nextTime(times, 1150, 10_000)).toBe(1200);
    expect(nextTime(times, 9300, 10_000)).toBe(10_000);
    expect(prevTime(times, 1200, 1000)).toBe(1100);
    expect(prevTime(times, 1000, 1000)).toBe(1000);
    expect(gapAround(times, 5000, 1000, 10_000)).toEqual({ from: 1200, to: 9200 });
  });
});

describe('state at an instant', () => {
  const state = (t: number, yjs = 'x'): RecordingState => ({ t, files: { 'main.py': `at ${t}` }, yjsState: yjs });

  it('caches answers by the asked and answered instant, least recently used out', () => {
    const cache = new StateCache(3);
    cache.put(-5, state(0)); // asked before the window: the server moved it to 0
    expect(cache.get(-5)?.t).toBe(0);
    expect(cache.get(0)?.t).toBe(0);
    cache.put(10, state(10));
    cache.put(20, state(20));
    expect(cache.size).toBe(3);
    expect(cache.get(-5)).toBeUndefined();
    expect(cache.nearestAtOrBefore(15)?.t).toBe(10);
    expect(cache.nearestAtOrBefore(25)?.t).toBe(20);
    expect(cache.nearestAtOrBefore(-1)).toBeUndefined();
  });

  it('keeps big states within a size budget', () => {
    const cache = new StateCache(24, 1000);
    for (let t = 0; t < 10; t++) cache.put(t, { t, files: {}, yjsState: 'x'.repeat(400) });
    expect(cache.size).toBeLessThanOrEqual(3);
    expect(cache.get(9)).toBeDefined();
  });

  it('applies loaded edits forward, reuses a cached state, or asks the server', () => {
    const cache = new StateCache();
    const edits = (from: number, to: number) => Math.max(0, Math.floor(to / 10) - Math.floor(from / 10));
    const common = { loadedThrough: 1000, editsBetween: edits, cache };
    expect(planSeek({ ...common, target: 500, docAt: 100 }).kind).toBe('local');
    // Backwards: the document can't go back; nothing cached → ask.
    expect(planSeek({ ...common, target: 50, docAt: 100 }).kind).toBe('fetch');
    // Beyond what is loaded: ask.
    expect(planSeek({ ...common, target: 2000, docAt: 100 }).kind).toBe('fetch');
    // Too many edits to apply here: ask.
    expect(planSeek({ ...common, target: 900, docAt: 0, maxLocalEdits: 10 }).kind).toBe('fetch');
    cache.put(40, state(40));
    const plan = planSeek({ ...common, target: 50, docAt: 100 });
    expect(plan.kind).toBe('cached');
    expect(plan.kind === 'cached' && plan.base.t).toBe(40);
    // Exact hits are used even beyond what is loaded.
    cache.put(2000, state(2000));
    expect(planSeek({ ...common, target: 2000, docAt: null }).kind).toBe('cached');
  });
});

describe('the document at the playhead', () => {
  function history() {
    const src = new Y.Doc();
    const updates: Uint8Array[] = [];
    src.on('update', (u: Uint8Array) => updates.push(u));
    const text = src.getText('file:main.py');
    text.insert(0, 'a');
    text.insert(1, 'b');
    text.insert(2, 'c');
    return { src, updates };
  }

  it('starts from a state and applies the edits after it (idempotently)', () => {
    const { updates } = history();
    const base = new Y.Doc();
    Y.applyUpdate(base, updates[0]);
    const events = updates.map((u, i) => edit(100 + i * 10, i + 1, b64(u)));
    // The state at 100 already holds update 1; re-applying it is harmless.
    const doc = new PlaybackDoc(b64(Y.encodeStateAsUpdate(base)), 100);
    expect(doc.text('main.py').toString()).toBe('a');
    const applied = doc.applyThrough(events, 110);
    expect(applied.map((e) => e.data.updateId)).toEqual([2]);
    expect(doc.text('main.py').toString()).toBe('ab');
    doc.applyThrough(events, 1000);
    expect(doc.text('main.py').toString()).toBe('abc');
    expect(doc.fileNames()).toEqual(['main.py']);
    expect(doc.applyThrough(events, 50)).toEqual([]);
  });

  it('names each edit’s author in the transaction origin', () => {
    const { updates } = history();
    const doc = new PlaybackDoc(null, 0);
    const seen: unknown[] = [];
    doc.text('main.py').observe((_e, tr) => seen.push(tr.origin));
    doc.applyThrough([{ ...edit(5, 1, b64(updates[0])), userId: 7, userName: 'Ann' }], 10);
    expect(seen).toEqual([{ kind: 'edit', userId: 7, userName: 'Ann', at: 5, files: ['main.py'] }]);
  });

  it('reads file texts from their id roots, and from name roots of documents from before file ids', () => {
    const src = new Y.Doc();
    src.getText('file:main.py').insert(0, 'legacy');
    src.getText('file:main.py').delete(0, 6);
    src.getText('file:7').insert(0, 'by id');
    src.getText('file:old.txt').insert(0, 'by name');
    src.getText('file:99').insert(0, 'unknown id');
    const doc = new PlaybackDoc(b64(Y.encodeStateAsUpdate(src)), 0);
    doc.setFileIds([{ id: 7, name: 'app.py' }]);
    doc.setFileIds([{ id: 7, name: 'main.py' }]);
    expect(doc.fileNames().sort()).toEqual(['main.py', 'old.txt']);
    expect(doc.text('main.py').toString()).toBe('by id');
    expect(doc.text('old.txt').toString()).toBe('by name');
  });

  it('counts a broken update and carries on', () => {
    const doc = new PlaybackDoc(null, 0);
    doc.applyThrough([edit(1, 1, '!!notbase64'), edit(2, 2, b64(new Uint8Array([1, 2, 3])))], 10);
    expect(doc.failures).toBeGreaterThanOrEqual(1);
  });
});

describe('what the pad showed at an instant', () => {
  const events = [
    ev(0, 'files', { files: [{ id: 1, name: 'main.py', language: 'python' }] }, null),
    ev(5, 'chat', { messageId: 1, body: 'hello' }),
    ev(10, 'run', { runId: 'r1', entry: 'main.py', finishedAt: 20, exitCode: 0, stdout: 'hi\n', stderr: '' }),
    ev(30, 'files', { files: [{ id: 1, name: 'app.py', language: 'python' }], changes: [{ op: 'renamed', from: 'main.py', name: 'app.py' }] }, 2),
    ev(40, 'leave', {}, 2),
  ];

  it('derives chat, the latest run (running until it finished) and the file list', () => {
    expect(chatThrough(events, countThrough(events, 4))).toEqual([]);
    expect(chatThrough(events, countThrough(events, 5)).map((m) => m.body)).toEqual(['hello']);
    expect(runAt(events, countThrough(events, 15), 15)?.running).toBe(true);
    const done = runAt(events, countThrough(events, 25), 25);
    expect(done?.running).toBe(false);
    expect(done?.stdout).toBe('hi\n');
    expect(runAt(events, countThrough(events, 9), 9)).toBeNull();
    expect(listedFilesThrough(events, countThrough(events, 29))?.map((f) => f.name)).toEqual(['main.py']);
    expect(listedFilesThrough(events, countThrough(events, 30))?.map((f) => f.name)).toEqual(['app.py']);
  });

  it('shows listed files plus any other file with text', () => {
    const listed = [{ name: 'b.py', language: 'python' }, { name: 'a.py', language: 'python' }];
    expect(visibleFiles(listed, [{ name: 'a.py', length: 3 }, { name: 'old.py', length: 0 }, { name: 'z.py', length: 2 }])).toEqual([
      'b.py',
      'a.py',
      'z.py',
    ]);
    expect(visibleFiles(null, [{ name: 'x', length: 1 }])).toEqual(['x']);
  });

  it('marks runs, chat, joins and file changes (not edits)', () => {
    expect(markersOf([...events, edit(50, 9)]).map((m) => m.kind)).toEqual(['chat', 'run', 'files', 'leave']);
    expect(markersOf(events)[2].label).toContain('renamed main.py → app.py');
  });
});

describe('terminal transcript', () => {
  it('keeps lines and drops colours and titles', () => {
    expect(terminalText(['\x1b]0;title\x07$ \x1b[32mecho hi\x1b[0m\r\nhi\r\n$ '])).toBe('$ echo hi\nhi\n$ ');
  });

  it('handles carriage returns, backspaces and erase-line', () => {
    expect(terminalText(['progress 10%\rprogress 99%\r\n'])).toBe('progress 99%\n');
    expect(terminalText(['abc\b\bX\r\n'])).toBe('aXc\n');
    expect(terminalText(['hello world\r\x1b[Kbye'])).toBe('bye');
    expect(terminalText(['a\tb'])).toBe('a       b');
  });

  it('accepts escape sequences split across chunks', () => {
    expect(terminalText(['red: \x1b[3', '1mX\x1b', '[0m!'])).toBe('red: X!');
  });

  it('puts its own notes on a line of their own', () => {
    const t = new TerminalTranscript();
    t.note('[new shell]');
    t.write('$ ls');
    t.note('[terminal exited]');
    expect(t.toString()).toBe('[new shell]\n$ ls\n[terminal exited]\n');
  });

  it('starts afresh on a clear screen and caps its length', () => {
    expect(terminalText(['old\r\n\x1b[H\x1b[2Jnew'])).toBe('new');
    const t = new TerminalTranscript(3);
    t.write('1\n2\n3\n4\n5');
    expect(t.toString()).toBe('3\n4\n5');
    expect(t.droppedLines).toBe(2);
  });
});

describe('playback controller', () => {
  it('opens at ?t, asks the server once, then plays forward from the loaded edits', async () => {
    const src = new Y.Doc();
    const updates: Uint8Array[] = [];
    src.on('update', (u: Uint8Array) => updates.push(u));
    const text = src.getText('file:main.py');
    text.insert(0, 'one');
    text.insert(3, ' two');
    const events = [edit(1000, 1, b64(updates[0])), edit(5000, 2, b64(updates[1]))];
    const stateAt = (t: number): RecordingState => {
      const d = new Y.Doc();
      for (const e of events) if (e.at <= t) Y.applyUpdate(d, Uint8Array.from(atob(e.data.update as string), (c) => c.charCodeAt(0)));
      return { t, files: { 'main.py': d.getText('file:main.py').toString() }, yjsState: b64(Y.encodeStateAsUpdate(d)) };
    };
    const fetchState = vi.fn(async (_s: string, _id: number, t: number) => stateAt(t));
    const frame: { cb: ((now: number) => void) | null } = { cb: null };
    const c = new PlaybackController('pad', 3, {
      listRecordings: async () => ({
        recordings: [{ id: 3, name: 'r', startedAt: 0, endedAt: 6000, durationMs: 6000, active: false, autoStarted: false, createdBy: null, stopReason: 'manual' }],
      }),
      getPad: async () => ({ pad: { slug: 'pad', title: 'T' } as never, files: [{ id: 1, name: 'main.py', language: 'python' }] }),
      fetchPage: async () => ({ events, nextCursor: 'end', hasMore: false }),
      fetchState,
      now: () => 0,
      requestFrame: (cb) => {
        frame.cb = cb;
        return 1;
      },
      cancelFrame: () => {
        frame.cb = null;
      },
    });
    await c.open(2000);
    await vi.waitFor(() => expect(c.state.doc).not.toBeNull());
    expect(fetchState).toHaveBeenCalledTimes(1);
    expect(c.state.t).toBe(2000);
    expect(c.state.doc!.text('main.py').toString()).toBe('one');
    expect(c.state.files).toEqual(['main.py']);
    // Seeking forward within loaded edits needs no request.
    c.seek(5500);
    expect(c.state.doc!.text('main.py').toString()).toBe('one two');
    expect(fetchState).toHaveBeenCalledTimes(1);
    // Back to the start: asks again (debounced), then serves the same instant from the cache.
    c.seek(1500, { immediate: true });
    await vi.waitFor(() => expect(c.state.doc!.text('main.py').toString()).toBe('one'));
    expect(fetchState).toHaveBeenCalledTimes(2);
    c.seek(5500);
    c.seek(1500);
    expect(c.state.doc!.text('main.py').toString()).toBe('one');
    expect(fetchState).toHaveBeenCalledTimes(2);
    // Play to the end: 1500 → 5000 is a 3.5 s gap, played in the 2 s cap; then 1 s to the end.
    c.play();
    let now = 0;
    for (let i = 0; i < 400 && c.state.playing; i++) {
      now += 16;
      frame.cb?.(now);
    }
    expect(c.state.playing).toBe(false);
    expect(c.state.t).toBe(6000);
    expect(c.state.doc!.text('main.py').toString()).toBe('one two');
    expect(now).toBeLessThan(3600);
    c.destroy();
  });

  it('reports a recording that is not in the list', async () => {
    const c = new PlaybackController('pad', 9, {
      listRecordings: async () => ({ recordings: [] }),
      getPad: async () => ({ pad: {} as never, files: [] }),
    });
    await c.open(0);
    expect(c.state.phase).toBe('error');
    c.destroy();
  });
});
