import { describe, expect, it, vi } from 'vitest';
import { ApiError } from '../src/api/client';
import type { RecordingView } from '../src/api/types';
import { formatClock, formatSpan } from '../src/features/recordings/format';
import { activeRecording, RecordingsWatcher, upsertRecording } from '../src/features/recordings/recordingsWatcher';

const rec = (id: number, startedAt: number, active = false): RecordingView => ({
  id,
  name: `r${id}`,
  startedAt,
  endedAt: active ? null : startedAt + 1000,
  durationMs: active ? null : 1000,
  active,
  autoStarted: false,
  createdBy: null,
  stopReason: active ? null : 'manual',
});

describe('recording formats', () => {
  it('formats spans and clock positions', () => {
    expect(formatSpan(999)).toBe('0 s');
    expect(formatSpan(42_500)).toBe('42 s');
    expect(formatSpan(185_000)).toBe('3 min 5 s');
    expect(formatSpan(120_000)).toBe('2 min');
    expect(formatSpan(3_720_000)).toBe('1 h 2 min');
    expect(formatClock(7_900)).toBe('0:07');
    expect(formatClock(754_000)).toBe('12:34');
    expect(formatClock(3_723_000)).toBe('1:02:03');
    expect(formatClock(-5)).toBe('0:00');
  });
});

describe('recordings watcher', () => {
  it('finds the active recording and keeps the list newest first', () => {
    const list = [rec(2, 200), rec(1, 100)];
    expect(activeRecording(list)).toBeNull();
    const next = upsertRecording(list, rec(3, 300, true));
    expect(next.map((r) => r.id)).toEqual([3, 2, 1]);
    expect(activeRecording(next)?.id).toBe(3);
    expect(upsertRecording(next, rec(3, 300)).map((r) => [r.id, r.active])).toEqual([
      [3, false],
      [2, false],
      [1, false],
    ]);
  });

  it('polls, keeps the last good list on errors, and stops on 403', async () => {
    vi.useFakeTimers();
    try {
      let answer: () => Promise<{ recordings: RecordingView[]; autoRecord: boolean }> = async () => ({ recordings: [rec(1, 1, true)], autoRecord: true });
      const list = vi.fn(() => answer());
      const w = new RecordingsWatcher('pad', list, 1000);
      w.start();
      await vi.waitFor(() => expect(w.store.get().loaded).toBe(true));
      expect(w.store.get().autoRecord).toBe(true);
      expect(activeRecording(w.store.get().recordings)?.id).toBe(1);
      answer = async () => {
        throw new ApiError(0, 'network', 'offline');
      };
      await vi.advanceTimersByTimeAsync(1000);
      expect(w.store.get().error).toMatch(/reach the server/);
      expect(w.store.get().recordings).toHaveLength(1);
      answer = async () => {
        throw new ApiError(403, 'forbidden', 'no');
      };
      await vi.advanceTimersByTimeAsync(1000);
      expect(w.store.get().forbidden).toBe(true);
      const calls = list.mock.calls.length;
      await vi.advanceTimersByTimeAsync(5000);
      expect(list.mock.calls.length).toBe(calls);
      w.stop();
    } finally {
      vi.useRealTimers();
    }
  });
});
