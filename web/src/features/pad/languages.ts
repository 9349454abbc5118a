import type { Language } from '../../api';

/** Built-in list, used until (or if) the server's `/api/languages` answers. Mirrors oc-sandbox's defaults. */
export const FALLBACK_LANGUAGES: Language[] = [
  { id: 'python', name: 'Python 3', extensions: ['py'], editorMode: 'python', defaultFile: 'main.py' },
  { id: 'javascript', name: 'JavaScript (Node)', extensions: ['js', 'mjs'], editorMode: 'javascript', defaultFile: 'main.js' },
  { id: 'typescript', name: 'TypeScript', extensions: ['ts'], editorMode: 'typescript', defaultFile: 'main.ts' },
  { id: 'go', name: 'Go', extensions: ['go'], editorMode: 'go', defaultFile: 'main.go' },
  { id: 'rust', name: 'Rust', extensions: ['rs'], editorMode: 'rust', defaultFile: 'main.rs' },
  { id: 'java', name: 'Java', extensions: ['java'], editorMode: 'java', defaultFile: 'Main.java' },
  { id: 'c', name: 'C', extensions: ['c', 'h'], editorMode: 'c', defaultFile: 'main.c' },
  { id: 'cpp', name: 'C++', extensions: ['cpp', 'cc', 'hpp', 'h'], editorMode: 'cpp', defaultFile: 'main.cpp' },
  { id: 'ruby', name: 'Ruby', extensions: ['rb'], editorMode: 'ruby', defaultFile: 'main.rb' },
  { id: 'csharp', name: 'C# (Mono)', extensions: ['cs'], editorMode: 'csharp', defaultFile: 'main.cs' },
  { id: 'kotlin', name: 'Kotlin', extensions: ['kt'], editorMode: 'kotlin', defaultFile: 'main.kt' },
  { id: 'scala', name: 'Scala', extensions: ['scala'], editorMode: 'scala', defaultFile: 'Main.scala' },
  { id: 'haskell', name: 'Haskell', extensions: ['hs'], editorMode: 'plaintext', defaultFile: 'main.hs' },
  { id: 'php', name: 'PHP', extensions: ['php'], editorMode: 'php', defaultFile: 'main.php' },
  { id: 'perl', name: 'Perl', extensions: ['pl', 'pm'], editorMode: 'perl', defaultFile: 'main.pl' },
  { id: 'lua', name: 'Lua', extensions: ['lua'], editorMode: 'lua', defaultFile: 'main.lua' },
  { id: 'r', name: 'R', extensions: ['R', 'r'], editorMode: 'r', defaultFile: 'main.R' },
  { id: 'elixir', name: 'Elixir', extensions: ['exs', 'ex'], editorMode: 'elixir', defaultFile: 'main.exs' },
  { id: 'bash', name: 'Bash', extensions: ['sh', 'bash'], editorMode: 'shell', defaultFile: 'main.sh' },
  { id: 'sql', name: 'SQL (SQLite)', extensions: ['sql'], editorMode: 'sql', defaultFile: 'main.sql' },
];

const MODE_BY_ID: Record<string, string> = {
  python: 'python',
  javascript: 'javascript',
  typescript: 'typescript',
  go: 'go',
  rust: 'rust',
  java: 'java',
  c: 'cpp',
  cpp: 'cpp',
  ruby: 'ruby',
  csharp: 'csharp',
  plaintext: 'plaintext',
  markdown: 'markdown',
  json: 'json',
  shell: 'shell',
  bash: 'shell',
  sql: 'sql',
  kotlin: 'kotlin',
  swift: 'swift',
  php: 'php',
  lua: 'lua',
};

const MODE_BY_EXT: Record<string, string> = {
  py: 'python',
  js: 'javascript',
  mjs: 'javascript',
  cjs: 'javascript',
  jsx: 'javascript',
  ts: 'typescript',
  tsx: 'typescript',
  go: 'go',
  rs: 'rust',
  java: 'java',
  c: 'cpp',
  h: 'cpp',
  cc: 'cpp',
  cpp: 'cpp',
  hpp: 'cpp',
  rb: 'ruby',
  cs: 'csharp',
  md: 'markdown',
  json: 'json',
  sh: 'shell',
  sql: 'sql',
  txt: 'plaintext',
  kt: 'kotlin',
  swift: 'swift',
  php: 'php',
  lua: 'lua',
};

/** Monaco language id for a file: its declared language, else its extension. */
export function editorModeFor(language: string | undefined, fileName: string, languages: Language[] = FALLBACK_LANGUAGES): string {
  if (language) {
    const known = languages.find((l) => l.id === language);
    const mode = known?.editorMode ?? MODE_BY_ID[language];
    if (mode) return MODE_BY_ID[mode] ?? mode;
  }
  const ext = fileName.includes('.') ? fileName.split('.').pop()!.toLowerCase() : '';
  // A language the server added carries its own mode, so new languages need no entry here.
  const declared = languages.find((l) => l.extensions?.some((e) => e.toLowerCase() === ext))?.editorMode;
  return MODE_BY_EXT[ext] ?? (declared ? (MODE_BY_ID[declared] ?? declared) : 'plaintext');
}

/** Guess a language id from a new file's name (for the file-create form). */
export function languageForFileName(fileName: string, languages: Language[] = FALLBACK_LANGUAGES): string | undefined {
  const ext = fileName.includes('.') ? fileName.split('.').pop()!.toLowerCase() : '';
  if (!ext) return undefined;
  return languages.find((l) => l.extensions?.includes(ext))?.id;
}

export function languageName(id: string, languages: Language[] = FALLBACK_LANGUAGES): string {
  return languages.find((l) => l.id === id)?.name ?? id;
}

/** Python convention is 4; Go uses tabs; most others 2 or 4. */
export function tabSizeFor(mode: string): { tabSize: number; insertSpaces: boolean } {
  switch (mode) {
    case 'python':
    case 'java':
    case 'csharp':
    case 'rust':
    case 'cpp':
    case 'php':
    case 'kotlin':
    case 'swift':
      return { tabSize: 4, insertSpaces: true };
    case 'go':
      return { tabSize: 4, insertSpaces: false };
    default:
      return { tabSize: 2, insertSpaces: true };
  }
}
