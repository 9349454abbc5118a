import { describe, expect, it } from 'vitest';
import type { ChatMessage } from '../src/api/types';
import { confirmPending, expirePending, failOldestPending, mergeMessages, toChatMessage, type PendingChat } from '../src/features/chat/chatState';
import { appendOutput, CLIENT_OUTPUT_CAP, describeOutcome, reduceRun, startRun, storedRunView, type RunView } from '../src/features/run/runState';

const spans = (run: RunView) => [...Array(run.output.rowCount).keys()].flatMap((i) => run.output.row(i));

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
    expect(spans(run)).toEqual([
      { stream: 'stdout', text: 'ab' },
      { stream: 'stderr', text: 'E' },
    ]);
    expect(run.startedAt).toBe(1000);
    const fin = { type: 'run.finished' as const, runId: 'r1', exitCode: 0, timedOut: false, oomKilled: false, durationMs: 12, truncated: false };
    run = reduceRun(run, fin)!;
    expect(run.finished).toEqual(fin);
    // a new run replaces the view
    expect(reduceRun(run, { ...started, runId: 'r2' })!.output.rowCount).toBe(0);
  });

  it('shows runs that started before we joined', () => {
    let run = reduceRun(null, { type: 'run.output', runId: 'late', stream: 'stdout', data: 'tail' })!;
    expect(run.runId).toBe('late');
    expect(spans(run)).toEqual([{ stream: 'stdout', text: 'tail' }]);
    run = reduceRun(run, { type: 'run.output', runId: 'later', stream: 'stdout', data: 'new' })!;
    expect(run.runId).toBe('later');
    expect(run.output.text()).toBe('new');
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
    expect(spans(run)).toEqual([{ stream: 'stdout', text: 'abc' }]);
    expect(run.lastSeq).toBe(3);
  });

  it('caps output client-side', () => {
    let run = startRun(started);
    run = appendOutput(run, { type: 'run.output', runId: 'r1', stream: 'stdout', data: 'x'.repeat(CLIENT_OUTPUT_CAP - 1) });
    run = appendOutput(run, { type: 'run.output', runId: 'r1', stream: 'stdout', data: 'yyyy' });
    expect(run.output.chars).toBe(CLIENT_OUTPUT_CAP);
    expect(run.clientTruncated).toBe(true);
  });

  it("never lets another run's chunks into a run's output", () => {
    const run = reduceRun(null, started)!;
    const other = appendOutput(run, { type: 'run.output', runId: 'r2', stream: 'stdout', data: 'intruder' });
    expect(other).toBe(run);
    expect(run.output.text()).toBe('');
    // A run.finished of another run does not finish this one.
    const fin = { type: 'run.finished' as const, runId: 'r2', exitCode: 0, timedOut: false, oomKilled: false, durationMs: 1, truncated: false };
    expect(reduceRun(run, fin)!.runId).toBe('r2');
    expect(run.finished).toBeNull();
  });

  it('shows a stored run after a reload, finished, with its limits', () => {
    const limits = { timeoutMs: 10_000, outputBytes: 1 << 20, memoryMb: 512 };
    const view = storedRunView(
      {
        runId: 's1', userId: 4, userName: 'Ada', language: 'python', entry: 'main.py', startedAtMs: 1000, finishedAtMs: 11_000,
        exitCode: null, signal: 'SIGKILL', timedOut: true, oomKilled: false, truncated: false, backend: 'docker', outcome: 'timeout',
        stdout: 'out\n', stderr: 'err\n',
      },
      limits,
    );
    expect(view.output.text()).toBe('out\nerr\n');
    expect(view.startedBy).toEqual({ userId: 4, name: 'Ada' });
    expect(view.finished?.durationMs).toBe(10_000);
    expect(describeOutcome(view.finished!).text).toBe('Stopped after the 10 s limit');
  });

  it('shows a stored run interleaved as it was live, input marked, and names who stopped it', () => {
    const view = storedRunView(
      {
        runId: 's2', userId: 4, userName: 'Ada', language: 'python', entry: 'main.py', startedAtMs: 1000, finishedAtMs: 2000,
        exitCode: null, signal: 'SIGKILL', timedOut: false, oomKilled: false, truncated: false, backend: 'docker',
        outcome: 'stopped', stoppedBy: 'Bob', stdout: 'name? Zoë\nhi 😀\n', stderr: 'warn\n',
        layout: [['o', 6], ['i', 4], ['e', 5], ['o', 6]],
      },
      undefined,
    );
    expect(spans(view)).toEqual([
      { stream: 'stdout', text: 'name? ' },
      { stream: 'stdin', text: 'Zoë' },
      { stream: 'stderr', text: 'warn' },
      { stream: 'stdout', text: 'hi 😀' },
    ]);
    expect(describeOutcome(view.finished!).text).toBe('Stopped by Bob');
  });

  it('describes outcomes in plain words, naming the limit that ended the run', () => {
    const base = { runId: 'r', timedOut: false, oomKilled: false, durationMs: 1, truncated: false, type: 'run.finished' as const };
    const limits = { timeoutMs: 10_000, outputBytes: 1024 * 1024, memoryMb: 512 };
    expect(describeOutcome({ ...base, exitCode: 0 })).toEqual({ text: 'Exit 0', tone: 'ok' });
    expect(describeOutcome({ ...base, exitCode: 3 }).text).toBe('Exit 3');
    expect(describeOutcome({ ...base, exitCode: null, timedOut: true, signal: 'SIGKILL', limits }).text).toBe('Stopped after the 10 s limit');
    expect(describeOutcome({ ...base, exitCode: null, timedOut: true, limits: { ...limits, timeoutMs: 2500 } }).text).toBe(
      'Stopped after the 2.5 s limit',
    );
    expect(describeOutcome({ ...base, exitCode: 137, oomKilled: true, limits }).text).toBe('Out of memory (512 MB)');
    // A truncation kills the program: it is the cut, not SIGKILL, that the reader is told.
    const cut = describeOutcome({ ...base, exitCode: null, signal: 'SIGKILL', truncated: true, outcome: 'truncated', limits });
    expect(cut).toEqual({ text: 'Output cut at 1 MiB', tone: 'warn' });
    expect(describeOutcome({ ...base, exitCode: null, outcome: 'stopped', stoppedBy: 'Ada' }).text).toBe('Stopped by Ada');
    expect(describeOutcome({ ...base, exitCode: null, outcome: 'stopped', stoppedBy: 'Ada' }, { name: 'Ada' }).text).toBe('Stopped by you');
    expect(describeOutcome({ ...base, exitCode: null, outcome: 'stopped' }).text).toBe('Stopped');
    expect(describeOutcome({ ...base, exitCode: 1, outcome: 'compile_error' }).text).toBe("Didn't compile (exit 1)");
    expect(describeOutcome({ ...base, exitCode: null, signal: 'SIGSEGV' }).text).toBe('Killed (SIGSEGV)');
    expect(describeOutcome({ ...base, exitCode: null, error: 'docker is down' })).toEqual({ text: "Couldn't run", tone: 'bad' });
  });

});
