import { describe, expect, it } from 'vitest';
import type { Language } from '../src/api';
import { FALLBACK_LANGUAGES, editorModeFor, languageForFileName } from '../src/features/pad/languages';

// A language this client has never heard of, as the server's table may offer it.
const served: Language[] = [
  ...FALLBACK_LANGUAGES,
  { id: 'ocaml', name: 'OCaml', extensions: ['ml'], editorMode: 'fsharp', defaultFile: 'main.ml' },
];

describe('editor modes come from the language table', () => {
  it('uses the mode a served language declares, by id and by file extension', () => {
    expect(editorModeFor('ocaml', 'main.ml', served)).toBe('fsharp');
    expect(editorModeFor(undefined, 'util.ml', served)).toBe('fsharp');
    expect(editorModeFor(undefined, 'util.ml', FALLBACK_LANGUAGES)).toBe('plaintext');
    expect(languageForFileName('main.ml', served)).toBe('ocaml');
  });

  it('maps every built-in language to a Monaco mode', () => {
    expect(editorModeFor('bash', 'main.sh')).toBe('shell');
    expect(editorModeFor(undefined, 'setup.sql')).toBe('sql');
    expect(editorModeFor(undefined, 'analysis.R')).toBe('r');
    expect(editorModeFor(undefined, 'main.exs')).toBe('elixir');
    expect(editorModeFor('c', 'main.c')).toBe('cpp');
    const ids = FALLBACK_LANGUAGES.map((l) => l.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ['kotlin', 'scala', 'haskell', 'php', 'perl', 'lua', 'r', 'elixir', 'bash', 'sql']) {
      expect(ids).toContain(id);
    }
  });
});
