// The REPL after a run: a session of the language's REPL with the pad's files and the open file
// loaded first, typed into through the run console. The server runs it as a run of its own kind
// (one per pad with runs); Run while a REPL is open closes it and runs.
import type { Language } from '../../api/types';
import type { RunView } from './runState';

/** Whether language `id` has a REPL on this server. */
export function hasRepl(languages: readonly Language[], id: string | undefined): boolean {
  return !!id && languages.some((l) => l.id === id && l.repl === true);
}

/** Ctrl/Cmd+Shift+Enter opens a REPL (Ctrl/Cmd+Enter runs). */
export function isReplShortcut(e: { key: string; ctrlKey: boolean; metaKey: boolean; shiftKey: boolean; altKey: boolean }): boolean {
  return e.key === 'Enter' && (e.ctrlKey || e.metaKey) && e.shiftKey && !e.altKey;
}

/** Whether the REPL button works now, and what it says when it does not. */
export function replAvailability(opts: { canRun: boolean; run: RunView | null; requested: boolean }): { enabled: boolean; why: string } {
  if (!opts.canRun) return { enabled: false, why: 'Viewers cannot run code' };
  if (opts.requested) return { enabled: false, why: 'Starting…' };
  if (opts.run && !opts.run.finished) {
    return { enabled: false, why: opts.run.repl ? 'A REPL is open (Stop closes it)' : 'A run is in progress' };
  }
  return { enabled: true, why: '' };
}

/** After a finished run (not itself a REPL) of a language with a REPL, the output panel offers one. */
export function offersRepl(run: RunView | null, languages: readonly Language[]): boolean {
  return !!run?.finished && !run.repl && hasRepl(languages, run.language);
}
