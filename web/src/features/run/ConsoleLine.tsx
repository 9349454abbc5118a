import { useEffect, useRef, useState } from 'react';
import type { PadSession } from '../pad/padSession';
import { consoleKey } from './consoleInput';
import './console.css';

/**
 * The line where a live run's console input is typed: Enter sends it (with its newline) to the
 * program, Ctrl-D sends what is typed without a newline and ends the input. Everyone on the pad
 * sees the input in the output once the server echoes it. In a REPL the line is an expression.
 */
export function ConsoleLine(props: { session: PadSession; runId: string; repl: boolean; focus: boolean }) {
  const { session } = props;
  const [line, setLine] = useState('');
  const ref = useRef<HTMLInputElement>(null);

  // Focused only when asked (the REPL of the person who opened it): whoever pressed Run may be
  // typing code, which must not go to stdin.
  useEffect(() => {
    setLine('');
    if (props.focus) ref.current?.focus();
  }, [props.runId]); // eslint-disable-line react-hooks/exhaustive-deps

  return (
    <div className="console-line">
      <span className="console-prompt mono" aria-hidden="true">
        ›
      </span>
      <input
        ref={ref}
        className="input mono"
        data-testid="console-input"
        aria-label={
          props.repl
            ? 'REPL input (Enter evaluates the line, Ctrl+D ends the REPL)'
            : 'Input for the running program (Enter sends the line, Ctrl+D ends the input)'
        }
        placeholder={
          props.repl ? 'Type an expression · Enter evaluates · Ctrl+D ends the REPL' : 'Type input for the program · Enter sends · Ctrl+D ends input'
        }
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
