// The pad's test cases beside the editor: the cases this role may see (candidates: the visible
// ones), a button that runs the current code against them in the sandbox, and each case's result.
// Interviewers may include the hidden cases; for a take-home, the candidate's Submit lives here too.
import { useEffect, useState } from 'react';
import { can, describeError, type Role } from '../../api';
import { toast } from '../../ui/toast';
import { useSession } from '../auth/session';
import { takehomeApi, type CaseResult, type NumberedCase, type PadTakehome, type TestRun } from './interviewApi';

function Results(props: { run: TestRun }) {
  return (
    <div className="stack" data-testid="test-results">
      <p className="small">
        <strong data-testid="tests-passed">
          {props.run.passed}/{props.run.total}
        </strong>{' '}
        passed
      </p>
      <ul className="summary-list">
        {props.run.results.map((r) => (
          <ResultRow key={r.index} result={r} />
        ))}
      </ul>
    </div>
  );
}

export function ResultRow(props: { result: CaseResult }) {
  const r = props.result;
  return (
    <li data-testid="test-result" data-passed={r.passed}>
      <span className={`chip ${r.passed ? 'chip-ok' : 'chip-warn'}`}>{r.passed ? 'pass' : 'fail'}</span> {r.name}
      {r.hidden && <span className="muted small"> (hidden)</span>}{' '}
      <span className="muted small">
        {r.outcome} · {r.durationMs} ms
      </span>
      {!r.passed && (
        <details>
          <summary className="small">output</summary>
          {r.returned !== undefined && (
            <p className="small" data-testid="test-returned">
              returned <code>{r.returned}</code>
            </p>
          )}
          {r.error && (
            <p className="small" data-testid="test-error">
              error: <code>{r.error}</code>
            </p>
          )}
          <pre className="summary-code">{r.actual || '(no output)'}</pre>
          {r.stderr && <pre className="summary-code">{r.stderr}</pre>}
        </details>
      )}
    </li>
  );
}

/** The candidate's Submit (and, once submitted, a note); nothing on a pad without a take-home.
 * Fetched again when the interview ends, which is how the deadline's submission shows up. */
function TakehomeSubmit(props: { slug: string; role: Role; ended: boolean }) {
  const [takehome, setTakehome] = useState<PadTakehome | null>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    takehomeApi.padTakehome(props.slug).then(setTakehome, () => setTakehome(null));
  }, [props.slug, props.ended]);
  if (!takehome) return null;
  const submit = async () => {
    if (!window.confirm('Submit your take-home? You cannot edit it afterwards.')) return;
    setBusy(true);
    try {
      setTakehome({ ...takehome, ...(await takehomeApi.submit(props.slug)) });
    } catch (err) {
      toast(`Couldn't submit: ${describeError(err)}`, 'error');
    } finally {
      setBusy(false);
    }
  };
  if (takehome.submittedAtMs) {
    return (
      <p className="alert alert-info" role="status" data-testid="takehome-submitted">
        {takehome.submittedBy === 'deadline' ? 'Time is up: the take-home was submitted.' : 'Submitted.'}
      </p>
    );
  }
  return (
    <div className="row wrap">
      <span className="muted small">Due {new Date(takehome.deadlineMs).toLocaleTimeString()}</span>
      {props.role === 'candidate' && (
        <button className="btn btn-primary" disabled={busy} data-testid="takehome-submit" onClick={() => void submit()}>
          {busy ? 'Submitting…' : 'Submit'}
        </button>
      )}
    </div>
  );
}

export default function TestsPanel(props: {
  slug: string;
  role: Role;
  ended: boolean;
  /** Someone's test run on the pad, as the socket told everyone (visible cases only). */
  others: { userId: number; name: string; results: CaseResult[] } | null;
}) {
  const { slug, role } = props;
  const interviewer = can.record(role);
  const [cases, setCases] = useState<NumberedCase[]>([]);
  const [run, setRun] = useState<TestRun | null>(null);
  const [busy, setBusy] = useState(false);
  const [shown, setShown] = useState<{ name: string; results: CaseResult[] } | null>(null);
  const me = useSession();
  const myId = me.status === 'signedIn' ? me.user.id : null;
  // Someone else's run on the pad replaces what is shown; my own comes from my request's answer
  // (hidden cases included for an interviewer), not from its echo on the socket.
  useEffect(() => {
    if (props.others && props.others.userId !== myId) setShown(props.others);
  }, [props.others, myId]);
  useEffect(() => {
    takehomeApi.tests(slug).then(
      (r) => setCases(r.tests),
      () => setCases([]),
    );
  }, [slug]);
  const start = async (hidden: boolean) => {
    setBusy(true);
    try {
      const mine = await takehomeApi.runTests(slug, hidden);
      setRun(mine);
      setShown(null);
    } catch (err) {
      toast(`Couldn't run the tests: ${describeError(err)}`, 'error');
    } finally {
      setBusy(false);
    }
  };
  const runnable = can.run(role) && (interviewer || !props.ended);
  return (
    <section className="stack" aria-label="Tests" data-testid="tests-panel">
      <TakehomeSubmit slug={slug} role={role} ended={props.ended} />
      {cases.length > 0 && (
        <>
          <h3>Tests</h3>
          <ul className="summary-list">
            {cases.map((c) => (
              <li key={c.index} className="small">
                {c.name}
                {c.kind === 'function' && (
                  <span className="muted" data-testid="test-call">
                    {' '}
                    <code>{c.args}</code> → <code>{c.expected}</code>
                  </span>
                )}
                {c.hidden && <span className="muted"> (hidden)</span>}
              </li>
            ))}
          </ul>
          {runnable && (
            <div className="row wrap">
              <button className="btn btn-small" disabled={busy} data-testid="run-tests" onClick={() => void start(false)}>
                {busy ? 'Running…' : 'Run tests'}
              </button>
              {interviewer && (
                <button className="btn btn-small btn-ghost" disabled={busy} onClick={() => void start(true)}>
                  Run with hidden
                </button>
              )}
            </div>
          )}
          {shown ? (
            <>
              <p className="muted small">{shown.name} ran the tests:</p>
              <Results run={{ results: shown.results, passed: shown.results.filter((r) => r.passed).length, total: shown.results.length }} />
            </>
          ) : (
            run && <Results run={run} />
          )}
        </>
      )}
    </section>
  );
}
