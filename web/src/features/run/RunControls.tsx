import { useCallback, useState } from 'react';
import { can } from '../../api';
import { Kbd, Spinner, modKey } from '../../ui/common';
import { ConfirmDialog } from '../../ui/Modal';
import { useStore } from '../../ui/store';
import { toast } from '../../ui/toast';
import type { Language } from '../../api';
import type { PadSession, RunStart } from '../pad/padSession';
import { ReplButton } from './ReplButton';
import { replAvailability } from './repl';

export type RunControls = ReturnType<typeof useRunControls>;

/**
 * Run, REPL and Stop for the pad's open file with the stdin typed for it, shared by the toolbar, the
 * editor's and the page's shortcuts. `showOutput` brings the output pane forward when a run starts.
 * A press of Run while a run is going asks before stopping it (one run per pad at a time).
 */
export function useRunControls(session: PadSession, showOutput: () => void) {
  const [stdin, setStdin] = useState('');
  const [rerunAsk, setRerunAsk] = useState(false);
  const runOptions = useCallback(() => {
    const s = session.state;
    const file = s.files.find((f) => f.name === s.activeFile);
    return { entry: file?.name, language: file?.language, stdin };
  }, [session, stdin]);
  const askIfBusy = useCallback((result: RunStart) => {
    if (result === 'busy') setRerunAsk(true);
  }, []);
  const stopAndRun = useCallback(() => void session.stopAndRun(runOptions()).then(askIfBusy), [session, runOptions, askIfBusy]);
  const run = useCallback(() => {
    if (!can.run(session.state.role)) {
      toast("Your role can't run code on this pad.", 'error');
      return;
    }
    showOutput();
    const current = session.state.run;
    if (current && !current.finished) {
      // Run closes an open REPL (it loads the program again anyway); a run in progress asks first.
      if (current.repl) stopAndRun();
      else setRerunAsk(true);
      return;
    }
    void session.run(runOptions()).then(askIfBusy);
  }, [session, runOptions, showOutput, stopAndRun, askIfBusy]);
  const openRepl = useCallback(() => {
    const s = session.state;
    const { enabled, why } = replAvailability({ canRun: can.run(s.role), run: s.run, requested: s.runRequested });
    if (!enabled) {
      toast(why, 'error');
      return;
    }
    showOutput();
    void session.run({ ...runOptions(), repl: true });
  }, [session, runOptions, showOutput]);
  const stop = useCallback(() => {
    if (can.run(session.state.role)) void session.stopRun();
  }, [session]);
  const cancelRerun = useCallback(() => setRerunAsk(false), []);
  const confirmRerun = useCallback(() => {
    setRerunAsk(false);
    stopAndRun();
  }, [stopAndRun]);
  return { stdin, setStdin, run, openRepl, stop, rerunAsk, cancelRerun, confirmRerun };
}

/** The toolbar's Stop (while a run goes), REPL and Run buttons. */
export function RunButtons(props: { session: PadSession; controls: RunControls; canRun: boolean; languages: Language[]; language?: string }) {
  const { session, controls, canRun } = props;
  const runRequested = useStore(session.store, (s) => s.runRequested);
  const running = useStore(session.store, (s) => !!s.run && !s.run.finished);
  const replOpen = useStore(session.store, (s) => !!s.run && !s.run.finished && s.run.repl);
  return (
    <>
      {running && canRun && (
        <button className="btn btn-danger btn-small" data-testid="stop-run" onClick={controls.stop} title={`Stop the run (${modKey}+.)`}>
          ■ Stop
        </button>
      )}
      <ReplButton session={session} canRun={canRun} languages={props.languages} language={props.language} onOpen={controls.openRepl} />
      <button
        className="btn btn-primary run-button"
        onClick={controls.run}
        disabled={!canRun || runRequested}
        title={canRun ? `${replOpen ? 'Close the REPL and run' : 'Run'} (${modKey}+Enter)` : 'Viewers cannot run code'}
      >
        {runRequested || (running && !replOpen) ? <Spinner /> : '▶'} {running && !replOpen ? 'Running' : 'Run'} <Kbd>{modKey}↵</Kbd>
      </button>
    </>
  );
}

/** Asks before a press of Run stops the run in progress. */
export function RerunDialog(props: { controls: RunControls }) {
  const { controls } = props;
  if (!controls.rerunAsk) return null;
  return (
    <ConfirmDialog title="A run is in progress" confirmLabel="Stop and run again" danger onCancel={controls.cancelRerun} onConfirm={controls.confirmRerun}>
      The pad runs one program at a time. Stop the current run and start the open file again?
    </ConfirmDialog>
  );
}
