import { describe, expect, it } from 'vitest';
import type { ChatMessage } from '../src/api/types';
import { confirmPending, expirePending, failOldestPending, mergeMessages, toChatMessage, type PendingChat } from '../src/features/chat/chatState';
import { appendOutput, CLIENT_OUTPUT_CAP, describeOutcome, reduceRun, startRun } from '../src/features/run/runState';

const msg = (id: number, userId: number, body: string, at: string): ChatMessage => ({ id, userId, name: `u${userId}`, body, at });

describe('chat state', () => {
  it('merges history and live messages without duplicates, oldest first', () => {
    const live = [msg(3, 1, 'c', '2026-01-01T00:00:03Z')];
    const history = [msg(1, 1, 'a', '2026-01-01T00:00:01Z'), msg(2, 2, 'b', '2026-01-01T00:00:02Z'), msg(3, 1, 'c', '2026-01-01T00:00:03Z')];
    const merged = mergeMessages(live, history);
    expect(merged.map((m) => m.id)).toEqual([1, 2, 3]);
    expect(mergeMessages(merged, [msg(2, 2, 'b', '2026-01-01T00:00:02Z')])).toBe(merged);
  });

  it('confirms, fails and expires pending sends', () => {
    const pending: PendingChat[] = [
      { localId: 1, body: 'hi', sentAt: 0, failed: null },
      { localId: 2, body: 'again', sentAt: 0, failed: null },
    ];
    expect(confirmPending(pending, msg(9, 7, 'hi', ''), 7).map((p) => p.localId)).toEqual([2]);
    expect(confirmPending(pending, msg(9, 8, 'hi', ''), 7)).toBe(pending); // someone else's
    const failed = failOldestPending(pending, 'too fast');
    expect(failed[0].failed).toBe('too fast');
    expect(failed[1].failed).toBeNull();
    expect(expirePending(pending, 5_000)).toBe(pending);
    expect(expirePending(pending, 20_000).every((p) => p.failed)).toBe(true);
  });

  it('normalises server payloads', () => {
    expect(toChatMessage({ type: 'chat', id: 5, userId: 2, name: 'Al', body: 'yo', at: '2026-01-01T00:00:00Z' })).toEqual({
      id: 5, userId: 2, name: 'Al', body: 'yo', at: '2026-01-01T00:00:00Z',
    });
    expect(toChatMessage({ id: 5 })).toBeNull();
    expect(toChatMessage(null)).toBeNull();
  });
});

describe('run state', () => {
  const started = { type: 'run.started' as const, runId: 'r1', userId: 1, name: 'Al', entry: 'main.py', at: 1000 };
  it('collects stdout/stderr in order, merging consecutive chunks', () => {
    let run = reduceRun(null, started)!;
    run = reduceRun(run, { type: 'run.output', runId: 'r1', stream: 'stdout', data: 'a' })!;
    run = reduceRun(run, { type: 'run.output', runId: 'r1', stream: 'stdout', data: 'b' })!;
    run = reduceRun(run, { type: 'run.output', runId: 'r1', stream: 'stderr', data: 'E' })!;
    expect(run.segments).toEqual([
      { stream: 'stdout', text: 'ab' },
      { stream: 'stderr', text: 'E' },
    ]);
    expect(run.startedAt).toBe(1000);
    const fin = { type: 'run.finished' as const, runId: 'r1', exitCode: 0, timedOut: false, oomKilled: false, durationMs: 12, truncated: false };
    run = reduceRun(run, fin)!;
    expect(run.finished).toEqual(fin);
    // a new run replaces the view
    expect(reduceRun(run, { ...started, runId: 'r2' })!.segments).toEqual([]);
  });

  it('shows runs that started before we joined', () => {
    let run = reduceRun(null, { type: 'run.output', runId: 'late', stream: 'stdout', data: 'tail' })!;
    expect(run.runId).toBe('late');
    expect(run.segments).toEqual([{ stream: 'stdout', text: 'tail' }]);
    run = reduceRun(run, { type: 'run.output', runId: 'later', stream: 'stdout', data: 'new' })!;
    expect(run.runId).toBe('later');
    const fin = reduceRun(null, { type: 'run.finished', runId: 'x', exitCode: 1, timedOut: false, oomKilled: false, durationMs: 5, truncated: false })!;
    expect(fin.finished?.exitCode).toBe(1);
  });

  it('counts a replayed chunk once when it also arrives live', () => {
    let run = reduceRun(null, started)!;
    const chunk = (seq: number, data: string) => ({ type: 'run.output' as const, runId: 'r1', seq, stream: 'stdout' as const, data });
    // Replay on join: started, seq 1 and 2; then the live copies of 2 and the new 3.
    run = reduceRun(run, chunk(1, 'a'))!;
    run = reduceRun(run, chunk(2, 'b'))!;
    run = reduceRun(run, started)!;
    run = reduceRun(run, chunk(2, 'b'))!;
    run = reduceRun(run, chunk(3, 'c'))!;
    expect(run.segments).toEqual([{ stream: 'stdout', text: 'abc' }]);
    expect(run.lastSeq).toBe(3);
  });

  it('caps output client-side', () => {
    let run = startRun(started);
    run = appendOutput(run, { type: 'run.output', runId: 'r1', stream: 'stdout', data: 'x'.repeat(CLIENT_OUTPUT_CAP - 1) });
    run = appendOutput(run, { type: 'run.output', runId: 'r1', stream: 'stdout', data: 'yyyy' });
    expect(run.bytes).toBe(CLIENT_OUTPUT_CAP);
    expect(run.clientTruncated).toBe(true);
  });

  it('describes outcomes', () => {
    const base = { runId: 'r', timedOut: false, oomKilled: false, durationMs: 1, truncated: false, type: 'run.finished' as const };
    expect(describeOutcome({ ...base, exitCode: 0 })).toEqual({ text: 'exit 0', tone: 'ok' });
    expect(describeOutcome({ ...base, exitCode: 3 }).text).toBe('exit 3');
    expect(describeOutcome({ ...base, exitCode: null, timedOut: true }).text).toBe('timed out');
    expect(describeOutcome({ ...base, exitCode: 137, oomKilled: true }).text).toBe('out of memory (killed)');
    expect(describeOutcome({ ...base, exitCode: null, signal: 'SIGKILL' }).text).toBe('killed by SIGKILL');
  });
});
