import { describe, expect, it } from 'vitest';
import { CONSOLE_MESSAGE_BYTES, consoleKey, consoleMessages, splitInput } from '../src/features/run/consoleInput';
import { acceptsInput, reduceRun, type RunView } from '../src/features/run/runState';

const utf8 = (s: string) => new TextEncoder().encode(s).length;
const key = (k: string, mods: Partial<{ ctrlKey: boolean; metaKey: boolean; shiftKey: boolean; altKey: boolean }> = {}) =>
  consoleKey({ key: k, ctrlKey: false, metaKey: false, shiftKey: false, altKey: false, ...mods });

describe('console input', () => {
  it('keeps short input in one message', () => {
    expect(splitInput('hello\n')).toEqual(['hello\n']);
    expect(splitInput('')).toEqual([]);
  });

  it('splits long input at the byte limit without splitting a character', () => {
    const text = 'é'.repeat(CONSOLE_MESSAGE_BYTES) + '😀'.repeat(3000) + 'x';
    const pieces = splitInput(text);
    expect(pieces.join('')).toBe(text);
    for (const piece of pieces) {
      expect(utf8(piece)).toBeLessThanOrEqual(CONSOLE_MESSAGE_BYTES);
      expect(piece).not.toMatch(/[\ud800-\udbff]$/); // no lone high surrogate at a cut
    }
    expect(pieces.length).toBe(Math.ceil(utf8(text) / CONSOLE_MESSAGE_BYTES));
  });

  it('fills a message exactly to the limit', () => {
    expect(splitInput('a'.repeat(CONSOLE_MESSAGE_BYTES)).length).toBe(1);
    expect(splitInput('a'.repeat(CONSOLE_MESSAGE_BYTES + 1)).map((p) => p.length)).toEqual([CONSOLE_MESSAGE_BYTES, 1]);
  });

  it('sends the typed text, then the end of input on Ctrl-D', () => {
    expect(consoleMessages('r1', 'abc\n', false)).toEqual([{ type: 'run.stdin', runId: 'r1', data: 'abc\n' }]);
    expect(consoleMessages('r1', '', true)).toEqual([{ type: 'run.eof', runId: 'r1' }]);
    expect(consoleMessages('r1', 'tail', true)).toEqual([
      { type: 'run.stdin', runId: 'r1', data: 'tail' },
      { type: 'run.eof', runId: 'r1' },
    ]);
  });

  it('maps Enter and Ctrl-D, and nothing else', () => {
    expect(key('Enter')).toEqual({ kind: 'line' });
    expect(key('Enter', { shiftKey: true })).toEqual({ kind: 'none' });
    expect(key('d', { ctrlKey: true })).toEqual({ kind: 'eof' });
    expect(key('d', { metaKey: true })).toEqual({ kind: 'eof' });
    expect(key('d')).toEqual({ kind: 'none' });
    expect(key('c', { ctrlKey: true })).toEqual({ kind: 'none' });
  });
});

describe('run view with a console', () => {
  const started = (interactive: boolean): RunView =>
    reduceRun(null, { type: 'run.started', runId: 'r', name: 'Ada', interactive })!;

  it('shows echoed input in order, marked as input, counted once', () => {
    let run = started(true);
    run = reduceRun(run, { type: 'run.output', runId: 'r', seq: 1, stream: 'stdout', data: 'name? ' })!;
    run = reduceRun(run, { type: 'run.output', runId: 'r', seq: 2, stream: 'stdin', data: 'Bob\n' })!;
    run = reduceRun(run, { type: 'run.output', runId: 'r', seq: 2, stream: 'stdin', data: 'Bob\n' })!;
    run = reduceRun(run, { type: 'run.output', runId: 'r', seq: 3, stream: 'stdout', data: 'hello Bob\n' })!;
    expect(run.output.text()).toBe('name? Bob\nhello Bob\n');
    expect(run.output.row(0)).toEqual([
      { stream: 'stdout', text: 'name? ' },
      { stream: 'stdin', text: 'Bob' },
    ]);
  });

  it('takes input only while the interactive run is live and its input open', () => {
    expect(acceptsInput(null)).toBe(false);
    expect(acceptsInput(started(false))).toBe(false);
    const run = started(true);
    expect(acceptsInput(run)).toBe(true);
    expect(acceptsInput(reduceRun(run, { type: 'run.eof', runId: 'other' }))).toBe(true);
    const closed = reduceRun(run, { type: 'run.eof', runId: 'r' })!;
    expect(closed.inputClosed).toBe(true);
    expect(acceptsInput(closed)).toBe(false);
    const finished = reduceRun(run, {
      type: 'run.finished', runId: 'r', exitCode: 0, timedOut: false, oomKilled: false, durationMs: 5, truncated: false,
    });
    expect(acceptsInput(finished)).toBe(false);
  });
});
