import { describe, expect, it } from 'vitest';
import type { Language } from '../src/api/types';
import { fileNameFor, starterReplacesSilently } from '../src/features/pad/languageSwitch';
import { MAX_ROW_CHARS, OutputBuffer } from '../src/features/run/outputBuffer';
import { OUTPUT_ROW_PX, visibleRows } from '../src/features/run/OutputView';

describe('output buffer', () => {
  it('splits output into rows across chunk boundaries and keeps streams apart', () => {
    const out = new OutputBuffer();
    out.append('stdout', 'one\ntw');
    out.append('stdout', 'o\n');
    out.append('stderr', 'err');
    out.append('stdout', ' then out\n\nlast');
    expect(out.rowCount).toBe(5);
    expect(out.row(0)).toEqual([{ stream: 'stdout', text: 'one' }]);
    expect(out.row(1)).toEqual([{ stream: 'stdout', text: 'two' }]);
    expect(out.row(2)).toEqual([
      { stream: 'stderr', text: 'err' },
      { stream: 'stdout', text: ' then out' },
    ]);
    expect(out.row(3)).toEqual([]);
    expect(out.text()).toBe('one\ntwo\nerr then out\n\nlast');
    expect(out.chars).toBe('one\ntwo\nerr then out\n\nlast'.length);
  });

  it('wraps a line longer than a row without losing or adding characters', () => {
    const out = new OutputBuffer();
    const line = 'x'.repeat(MAX_ROW_CHARS * 2 + 5);
    out.append('stdout', line.slice(0, 7));
    out.append('stdout', line.slice(7) + '\n');
    expect(out.rowCount).toBe(3);
    expect(out.row(2)[0].text.length).toBe(5);
    expect(out.text()).toBe(line + '\n');
  });

  it('appends a megabyte in time linear in its size', () => {
    const out = new OutputBuffer();
    const chunk = Array.from({ length: 600 }, (_, i) => `${i} ${'x'.repeat(24)}\n`).join('');
    const started = performance.now();
    while (out.chars < 1024 * 1024) out.append('stdout', chunk);
    expect(performance.now() - started).toBeLessThan(500);
    expect(out.rowCount).toBe(Math.ceil((1024 * 1024) / chunk.length) * 600);
  });
});

describe('virtualised output view', () => {
  it('renders only the rows in view plus a margin', () => {
    const [first, end] = visibleRows(60_000, 30_000 * OUTPUT_ROW_PX, 20 * OUTPUT_ROW_PX);
    expect(first).toBeLessThanOrEqual(30_000);
    expect(end).toBeGreaterThanOrEqual(30_020);
    expect(end - first).toBeLessThan(100);
    expect(visibleRows(3, 0, 500)).toEqual([0, 3]);
    expect(visibleRows(0, 0, 500)).toEqual([0, 0]);
  });
});

const lang = (id: string, defaultFile: string, extensions: string[], template = ''): Language => ({ id, name: id, defaultFile, extensions, template });
const python = lang('python', 'main.py', ['py'], 'print("Hello, world!")\n');
const c = lang('c', 'main.c', ['c', 'h'], '#include <stdio.h>\nint main(void) { return 0; }\n');
const java = lang('java', 'Main.java', ['java']);

describe('switching a file to another language', () => {
  it("renames the entry file to the language's convention and other files by extension", () => {
    expect(fileNameFor('main.py', python, c)).toBe('main.c');
    expect(fileNameFor('main.py', python, java)).toBe('Main.java');
    expect(fileNameFor('Main.java', java, python)).toBe('main.py');
    expect(fileNameFor('util.py', python, c)).toBe('util.c');
    expect(fileNameFor('helpers.h', python, c)).toBe('helpers.h');
    expect(fileNameFor('notes', undefined, c)).toBe('notes.c');
  });

  it("replaces code with the starter silently only when nothing would be lost", () => {
    expect(starterReplacesSilently('', python)).toBe(true);
    expect(starterReplacesSilently('  \n', python)).toBe(true);
    expect(starterReplacesSilently('print("Hello, world!")', python)).toBe(true);
    expect(starterReplacesSilently('print("Hello, world!")\nprint(2)\n', python)).toBe(false);
    expect(starterReplacesSilently('x = 1', undefined)).toBe(false);
  });
});
