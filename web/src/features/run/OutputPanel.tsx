import { useEffect, useState } from 'react';
import type { Language } from '../../api/types';
import { Kbd, Spinner, formatDuration, modKey } from '../../ui/common';
import { copyText } from '../../ui/clipboard';
import { useStore } from '../../ui/store';
import { toast } from '../../ui/toast';
import { useUser } from '../auth/session';
import type { PadSession } from '../pad/padSession';
import { ConsoleLine } from './ConsoleLine';
import { OutputView } from './OutputView';
import { offersRepl } from './repl';
import { acceptsInput, describeOutcome } from './runState';

export function OutputPanel(props: {
  session: PadSession;
  stdin: string;
  setStdin: (v: string) => void;
  canRun: boolean;
  /** Which languages have a REPL, and opening one (offered after a run of such a language). */
  languages: Language[];
  onRepl: () => void;
  onHide: () => void;
  /** Inside the workspace's Output/Terminal drawer, which has its own tab and hide button. */
  embedded?: boolean;
}) {
  const { session } = props;
  const run = useStore(session.store, (s) => s.run);
  const runError = useStore(session.store, (s) => s.runError);
  const requested = useStore(session.store, (s) => s.runRequested);
  const endsInput = useStore(session.store, (s) => s.runEndsInput);
  const me = useUser();
  const [showStdin, setShowStdin] = useState(false);
  const [elapsed, setElapsed] = useState(0);

  const running = !!run && !run.finished;
  useEffect(() => {
    if (!running || !run) return;
    const tick = () => setElapsed(Date.now() - run.startedAt);
    tick();
    const t = setInterval(tick, 200);
    return () => clearInterval(t);
  }, [running, run?.runId]); // eslint-disable-line react-hooks/exhaustive-deps

  const outcome = run?.finished ? describeOutcome(run.finished, me) : null;
  const by = run?.startedBy?.name ? (run.startedBy.userId === me?.id ? 'you' : run.startedBy.name) : null;

  return (
    <section className="output-panel" aria-label="Output" data-testid="output-panel" data-run-id={run?.runId}>
      <div className="output-head">
        <div className="row wrap">
          {!props.embedded && (
            <>
              <button className="btn-icon" aria-label="Hide output" title="Hide output (Alt+4)" onClick={props.onHide}>
                ▾
              </button>
              <strong className="small upper">Output</strong>
            </>
          )}
          {requested && !running && <Spinner label="starting…" />}
          {running && (
            <span className="chip chip-warn" data-testid="run-status">
              <span className="pulse" aria-hidden="true" /> {run?.repl ? 'REPL open' : 'running'} · {formatDuration(elapsed)}
            </span>
          )}
          {run?.finished && outcome && (
            <>
              <span className={`chip chip-${outcome.tone}`} data-testid="run-status" data-finished={run.finished.outcome ?? 'finished'}>
                {outcome.text}
              </span>
              <span className="chip">{formatDuration(run.finished.durationMs)}</span>
              {run.clientTruncated && !run.finished.truncated && (
                <span className="chip chip-warn" title="This browser keeps at most 2 MiB of a run's output">
                  output cut here
                </span>
              )}
            </>
          )}
          {run?.repl && (
            <span className="chip" data-testid="repl-chip" title="A REPL session: typed lines are evaluated in the program's context">
              REPL
            </span>
          )}
          {run && (
            <span className="muted small">
              {run.entry && <span className="mono">{run.entry}</span>}
              {by && <> · {run.repl ? 'opened' : 'run'} by {by}</>}
              {run.backend || run.finished?.backend ? <> · {run.finished?.backend ?? run.backend}</> : null}
            </span>
          )}
        </div>
        <div className="row">
          <button className="btn btn-ghost btn-small" aria-expanded={showStdin} onClick={() => setShowStdin((v) => !v)}>
            stdin{props.stdin || endsInput ? ' •' : ''}
          </button>
          <button
            className="btn btn-ghost btn-small"
            disabled={!run || run.output.rowCount === 0}
            title="Copy the whole output"
            onClick={async () => {
              if (run && (await copyText(run.output.text()))) toast('Output copied.', 'success');
            }}
          >
            Copy
          </button>
          <button className="btn btn-ghost btn-small" onClick={() => session.clearRun()} disabled={!run && !runError}>
            Clear
          </button>
        </div>
      </div>
      {showStdin && (
        <div className="stdin-box">
          <label htmlFor="stdin" className="small muted">
            Standard input, sent with each run ({modKey}+Enter runs from here)
          </label>
          <textarea
            id="stdin"
            className="input mono"
            rows={3}
            value={props.stdin}
            placeholder="Input for your program"
            onChange={(e) => props.setStdin(e.target.value)}
          />
          <label className="small row">
            <input
              type="checkbox"
              data-testid="stdin-ends-input"
              checked={endsInput}
              onChange={(e) => session.setRunEndsInput(e.target.checked)}
            />
            End input here (the program sees end of input after this text; no console input while it runs)
          </label>
        </div>
      )}
      <div className="output-body mono" role="log" data-testid="output">
        {runError && (
          <div className="alert alert-error" role="alert">
            {runError}
          </div>
        )}
        {!run && !runError && (
          <p className="muted empty-output">
            {props.canRun ? (
              <>
                Press <Kbd>{modKey}↵</Kbd> or <strong>Run</strong> to run the open file. Everyone on the pad sees the
                output live.
              </>
            ) : (
              'Output of runs started by others appears here live.'
            )}
          </p>
        )}
        {run && run.output.rowCount > 0 && <OutputView output={run.output} version={run.version} runId={run.runId} />}
        {run?.finished && run.output.rowCount === 0 && <p className="muted">(no output)</p>}
        {run?.finished?.error && (
          <div className="alert alert-error small" role="alert">
            {String(run.finished.error)}
          </div>
        )}
      </div>
      {run && acceptsInput(run) &&
        (props.canRun ? (
          <ConsoleLine session={session} runId={run.runId} repl={run.repl} focus={run.repl && !!me && run.startedBy.userId === me.id} />
        ) : (
          <p className="muted small console-line">
            {run.repl ? 'A REPL is open' : 'This program reads input'}; people who can run code may type it.
          </p>
        ))}
      {props.canRun && offersRepl(run, props.languages) && (
        <p className="muted small console-line" data-testid="repl-offer">
          Keep exploring <span className="mono">{run?.entry}</span> in a REPL, with its functions and variables loaded:
          <button className="btn btn-small" data-testid="open-repl-from-output" onClick={props.onRepl}>
            Open REPL
          </button>
          <Kbd>{modKey}⇧↵</Kbd>
        </p>
      )}
    </section>
  );
}
