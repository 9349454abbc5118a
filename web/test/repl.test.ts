import { describe, expect, it } from 'vitest';
import type { Language, StoredRun } from '../src/api/types';
import { hasRepl, isReplShortcut, offersRepl, replAvailability } from '../src/features/run/repl';
import { describeOutcome, formatLimit, reduceRun, storedRunView, type RunView } from '../src/features/run/runState';

const languages: Language[] = [
  { id: 'python', name: 'Python 3', repl: true },
  { id: 'ruby', name: 'Ruby', repl: true },
  { id: 'c', name: 'C', repl: false },
  { id: 'go', name: 'Go' },
];

const finished = { exitCode: 0, timedOut: false, oomKilled: false, durationMs: 5, truncated: false, outcome: 'ok' };
const view = (kind: 'run' | 'repl', language = 'python'): RunView =>
  reduceRun(null, { type: 'run.started', runId: 'r', kind, language, entry: 'main.py', userId: 1, interactive: kind === 'repl' })!;

describe('REPL availability', () => {
  it('knows which languages have a REPL', () => {
    expect(hasRepl(languages, 'python')).toBe(true);
    expect(hasRepl(languages, 'c')).toBe(false);
    expect(hasRepl(languages, 'go')).toBe(false);
    expect(hasRepl(languages, undefined)).toBe(false);
  });

  it('opens one only when the role may run and nothing else is live on the pad', () => {
    expect(replAvailability({ canRun: false, run: null, requested: false })).toEqual({ enabled: false, why: 'Viewers cannot run code' });
    expect(replAvailability({ canRun: true, run: null, requested: false }).enabled).toBe(true);
    expect(replAvailability({ canRun: true, run: null, requested: true }).enabled).toBe(false);
    expect(replAvailability({ canRun: true, run: view('run'), requested: false })).toEqual({ enabled: false, why: 'A run is in progress' });
    expect(replAvailability({ canRun: true, run: view('repl'), requested: false }).why).toMatch(/REPL is open/);
    const over = reduceRun(view('run'), { type: 'run.finished', runId: 'r', ...finished })!;
    expect(replAvailability({ canRun: true, run: over, requested: false }).enabled).toBe(true);
  });

  it('is offered after a finished run of a language with a REPL, never after a REPL or during a run', () => {
    const done = (v: RunView) => reduceRun(v, { type: 'run.finished', runId: 'r', ...finished })!;
    expect(offersRepl(done(view('run')), languages)).toBe(true);
    expect(offersRepl(view('run'), languages)).toBe(false);
    expect(offersRepl(done(view('repl')), languages)).toBe(false);
    expect(offersRepl(done(view('run', 'c')), languages)).toBe(false);
    expect(offersRepl(null, languages)).toBe(false);
  });

  it('takes Ctrl/Cmd+Shift+Enter, and leaves Ctrl+Enter to Run', () => {
    const key = (over: Partial<{ key: string; ctrlKey: boolean; metaKey: boolean; shiftKey: boolean; altKey: boolean }>) => ({
      key: 'Enter', ctrlKey: false, metaKey: false, shiftKey: false, altKey: false, ...over,
    });
    expect(isReplShortcut(key({ ctrlKey: true, shiftKey: true }))).toBe(true);
    expect(isReplShortcut(key({ metaKey: true, shiftKey: true }))).toBe(true);
    expect(isReplShortcut(key({ ctrlKey: true }))).toBe(false);
    expect(isReplShortcut(key({ shiftKey: true }))).toBe(false);
    expect(isReplShortcut(key({ ctrlKey: true, shiftKey: true, altKey: true }))).toBe(false);
  });
});

describe('how a REPL ended', () => {
  const limits = { timeoutMs: 1_800_000, outputBytes: 1 << 20, memoryMb: 512, idleMs: 300_000 };
  const end = (over: Record<string, unknown>) => ({ type: 'run.finished' as const, runId: 'r', kind: 'repl' as const, limits, ...finished, ...over });

  it('says idle, lifetime, its own end and who stopped it in plain words', () => {
    expect(describeOutcome(end({ outcome: 'idle', exitCode: null }))).toEqual({ text: 'REPL closed after 5 min idle', tone: 'warn' });
    expect(describeOutcome(end({ outcome: 'timeout', timedOut: true, exitCode: null }))).toEqual({ text: 'REPL closed at its 30 min limit', tone: 'warn' });
    expect(describeOutcome(end({}))).toEqual({ text: 'REPL ended', tone: 'ok' });
    expect(describeOutcome(end({ outcome: 'stopped', stoppedBy: 'Ada', exitCode: null }))).toEqual({ text: 'Stopped by Ada', tone: 'warn' });
    expect(describeOutcome(end({ outcome: 'oom', oomKilled: true, exitCode: null })).text).toBe('Out of memory (512 MB)');
    // A run that timed out still names its own limit.
    expect(describeOutcome({ ...end({ timedOut: true, exitCode: null, outcome: 'timeout' }), kind: 'run', limits: { ...limits, timeoutMs: 10_000 } }).text).toBe(
      'Stopped after the 10 s limit',
    );
  });

  it('formats limits in seconds below a minute and in minutes above', () => {
    expect([formatLimit(10_000), formatLimit(1_500), formatLimit(300_000), formatLimit(90_000)]).toEqual(['10 s', '1.5 s', '5 min', '1.5 min']);
  });

  it('a stored REPL reloads as a REPL with the REPL limits', () => {
    const stored: StoredRun = {
      runId: 'r', kind: 'repl', userId: 1, userName: 'Ada', language: 'python', entry: 'main.py', startedAtMs: 0, finishedAtMs: 300_500,
      exitCode: null, signal: null, timedOut: false, oomKilled: false, truncated: false, backend: 'docker', outcome: 'idle',
      stdout: '>>> sq(12)\n144\n>>> ', stderr: '',
    };
    const runLimits = { ...limits, timeoutMs: 10_000, idleMs: undefined };
    const reloaded = storedRunView(stored, runLimits, limits);
    expect(reloaded.repl).toBe(true);
    expect(describeOutcome(reloaded.finished!).text).toBe('REPL closed after 5 min idle');
    expect(storedRunView({ ...stored, kind: 'run', outcome: 'ok', exitCode: 0 }, runLimits, limits).repl).toBe(false);
  });

  it('a view that only saw the finish of a REPL knows it was one', () => {
    const late = reduceRun(null, end({ outcome: 'idle', exitCode: null }))!;
    expect(late.repl).toBe(true);
  });
});
