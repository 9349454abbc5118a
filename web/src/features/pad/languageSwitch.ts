// Switching a file's language (pure rules, unit-tested): the file takes the new language's
// name convention, and its code is replaced by the starter only when nothing would be lost.
import type { Language } from '../../api';

function stem(name: string): string {
  const dot = name.lastIndexOf('.');
  return dot > 0 ? name.slice(0, dot) : name;
}

/**
 * The file's name in `to`: the entry file (named like `from`'s default file, e.g. `main.py`)
 * becomes `to`'s default file (`main.c`, `Main.java`); any other keeps its stem with `to`'s
 * extension. A name that already fits `to` is kept.
 */
export function fileNameFor(name: string, from: Language | undefined, to: Language): string {
  const ext = name.includes('.') ? name.split('.').pop()!.toLowerCase() : '';
  const isEntry = !!from?.defaultFile && stem(name).toLowerCase() === stem(from.defaultFile).toLowerCase();
  if (isEntry && to.defaultFile) return to.defaultFile;
  if (to.extensions?.includes(ext)) return name;
  const toExt = to.extensions?.[0] ?? (to.defaultFile?.includes('.') ? to.defaultFile.split('.').pop() : undefined);
  return toExt ? `${stem(name)}.${toExt}` : name;
}

/**
 * Whether switching may put `to`'s starter in place of `content` without asking: only when the
 * file is empty or still holds `from`'s untouched starter. Anything else is someone's code.
 */
export function starterReplacesSilently(content: string, from: Language | undefined): boolean {
  const code = content.trim();
  return code === '' || (!!from?.template && code === from.template.trim());
}
