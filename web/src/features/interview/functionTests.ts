// Function test cases in the question editor: the signature as the form holds it, which of the
// question's languages can run function cases, and the checks the server makes on a case's JSON,
// so the form says what is wrong before saving (the server's answer stays the authority).
import type { Language } from '../../api';
import type { Signature, TestCase } from './interviewApi';

/** The signature as typed: the function's name and its parameters, comma-separated. */
export interface SignatureDraft {
  function: string;
  params: string;
}

export function fromSignature(signature: Signature | null): SignatureDraft {
  return { function: signature?.function ?? '', params: signature?.params.join(', ') ?? '' };
}

/** No name: no signature. */
export function toSignature(draft: SignatureDraft): Signature | null {
  const name = draft.function.trim();
  if (!name) return null;
  const params = draft.params
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
  return { function: name, params };
}

/** The languages of the server's table that run function cases. */
export function harnessLanguages(table: Language[]): Language[] {
  return table.filter((l) => l.functionTests);
}

/** Those of `ids` (the question's languages) that have no harness. */
export function withoutHarness(ids: string[], table: Language[]): string[] {
  return ids.filter((id) => !table.find((l) => l.id === id)?.functionTests);
}

function parses(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** What is wrong with a function case, in the server's words; null when nothing is. */
export function caseProblem(c: TestCase, signature: Signature | null): string | null {
  if (c.kind !== 'function') return null;
  if (!signature) return 'declare the function signature first';
  const text = c.args ?? '';
  if (!parses(text)) return 'args is not valid JSON';
  const args: unknown = JSON.parse(text);
  if (!Array.isArray(args)) return 'args is a JSON array with one value per parameter';
  if (args.length !== signature.params.length) {
    return `args holds ${args.length} values; ${signature.function}(${signature.params.join(', ')}) takes ${signature.params.length}`;
  }
  if (!parses(c.expected)) return 'expected is not valid JSON';
  return null;
}

/** The case switched to `kind`, keeping its name and visibility. */
export function withKind(c: TestCase, kind: 'stdin' | 'function'): TestCase {
  return kind === 'function'
    ? { ...c, kind, stdin: '', args: c.args ?? '[]', expected: '' }
    : { name: c.name, kind, stdin: '', expected: '', hidden: c.hidden, compare: c.compare };
}
