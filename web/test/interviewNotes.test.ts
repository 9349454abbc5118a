import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { mapThroughDelta, spliceBetween, utf8Bytes, type DeltaOp } from '../src/features/interview/notesText';
import { notesSocketUrl } from '../src/features/interview/InterviewNotes';

/** Apply `after` to a Y.Text holding `before` through the splice, as the notes text area does. */
function edit(before: string, after: string): string {
  const doc = new Y.Doc();
  const text = doc.getText('file:1');
  text.insert(0, before);
  const splice = spliceBetween(before, after);
  if (splice) {
    doc.transact(() => {
      if (splice.remove > 0) text.delete(splice.index, splice.remove);
      if (splice.insert) text.insert(splice.index, splice.insert);
    });
  }
  return text.toString();
}

describe('notes text binding', () => {
  it('turns any edit into one splice that reproduces it', () => {
    const cases: [string, string][] = [
      ['', 'hello'],
      ['hello', ''],
      ['hello world', 'hello brave world'],
      ['aaaa', 'aaa'],
      ['abcabc', 'abXabc'],
      ['line 1\nline 2', 'line 1\nline 2\nline 3'],
      ['émoji 🎉 here', 'émoji 🎉🎉 here'],
    ];
    for (const [before, after] of cases) expect(edit(before, after)).toBe(after);
    expect(spliceBetween('same', 'same')).toBeNull();
    expect(spliceBetween('hello world', 'hello brave world')).toEqual({ index: 6, remove: 0, insert: 'brave ' });
  });

  it('keeps the caret on the same text when a remote change lands before, at or after it', () => {
    const remote = (before: string, change: (t: Y.Text) => void): DeltaOp[] => {
      const doc = new Y.Doc();
      const text = doc.getText('t');
      text.insert(0, before);
      let delta: DeltaOp[] = [];
      text.observe((e) => (delta = e.delta as DeltaOp[]));
      change(text);
      return delta;
    };
    // Caret after "abc|def".
    expect(mapThroughDelta(3, remote('abcdef', (t) => t.insert(0, 'XY')))).toBe(5);
    expect(mapThroughDelta(3, remote('abcdef', (t) => t.insert(3, 'XY')))).toBe(3);
    expect(mapThroughDelta(3, remote('abcdef', (t) => t.insert(5, 'XY')))).toBe(3);
    expect(mapThroughDelta(3, remote('abcdef', (t) => t.delete(0, 2)))).toBe(1);
    expect(mapThroughDelta(3, remote('abcdef', (t) => t.delete(1, 4)))).toBe(1);
    expect(mapThroughDelta(3, remote('abcdef', (t) => t.delete(4, 2)))).toBe(3);
  });

  it('counts the limit in UTF-8 bytes like the server', () => {
    expect(utf8Bytes('abc')).toBe(3);
    expect(utf8Bytes('é')).toBe(2);
    expect(utf8Bytes('🎉')).toBe(4);
  });

  it('opens its own socket path beside the pad socket, with no token in the URL', () => {
    const url = notesSocketUrl('abc123', { protocol: 'https:', host: 'pads.example' });
    expect(url).toBe('wss://pads.example/ws/pad/abc123/notes');
    expect(url).not.toMatch(/token|bearer/i);
  });
});
