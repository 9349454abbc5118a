import type { Language } from '../../api/types';
import { modKey } from '../../ui/common';
import { useStore } from '../../ui/store';
import type { PadSession } from '../pad/padSession';
import { hasRepl, replAvailability } from './repl';

/** "REPL" beside Run, for files of a language that has one: opens a REPL with the file loaded. */
export function ReplButton(props: { session: PadSession; canRun: boolean; languages: Language[]; language?: string; onOpen: () => void }) {
  const run = useStore(props.session.store, (s) => s.run);
  const requested = useStore(props.session.store, (s) => s.runRequested);
  if (!hasRepl(props.languages, props.language)) return null;
  const { enabled, why } = replAvailability({ canRun: props.canRun, run, requested });
  return (
    <button
      className="btn btn-small"
      data-testid="open-repl"
      onClick={props.onOpen}
      disabled={!enabled}
      title={enabled ? `Run this file, then keep a REPL open in its context (${modKey}+Shift+Enter)` : why}
    >
      REPL
    </button>
  );
}
