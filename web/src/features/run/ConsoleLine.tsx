import { useEffect, useState } from 'react';
import type { PadSession } from '../pad/padSession';
import { consoleKey } from './consoleInput';
import './console.css';

/**
 * The line where a live run's console input is typed: Enter sends it (with its newline) to the
 * program, Ctrl-D sends what is typed without a newline and ends the input. Everyone on the pad
 * sees the input in the output once the server echoes it.
 */
export function ConsoleLine(props: { session: PadSession; runId: string }) {
  const { session } = props;
  const [line, setLine] = useState('');

  // Never focused on its own: whoever pressed Run may be typing code, which must not go to stdin.
  useEffect(() => setLine(''), [props.runId]);

  return (
    <div className="console-line">
      <span className="console-prompt mono" aria-hidden="true">
        ›
      </span>
      <input
        className="input mono"
        data-testid="console-input"
        aria-label="Input for the running program (Enter sends the line, Ctrl+D ends the input)"
        placeholder="Type input for the program · Enter sends · Ctrl+D ends input"
        value={line}
        spellCheck={false}
        autoComplete="off"
        onChange={(e) => setLine(e.target.value)}
        onKeyDown={(e) => {
          const key = consoleKey(e);
          if (key.kind === 'none') return;
          e.preventDefault();
          const sent = key.kind === 'line' ? session.sendRunInput(`${line}\n`) : session.sendRunInput(line, true);
          if (sent) setLine('');
        }}
      />
    </div>
  );
}
