// The question form's test cases, visible or hidden: stdin and the expected stdout with how the
// output is compared, or — when the question declares a function signature — a call of that
// function with JSON arguments and the JSON value it must return. Hidden cases run on submission
// and for interviewers; candidates never see them.
import { COMPARES, type Compare, type Signature, type TestCase } from './interviewApi';
import { caseProblem, withKind } from './functionTests';

const NEW_CASE: TestCase = { name: '', kind: 'stdin', stdin: '', expected: '', hidden: false, compare: 'trimmed' };

function StdinFields(props: { n: number; c: TestCase; change: (patch: Partial<TestCase>) => void }) {
  const { c, change } = props;
  return (
    <div className="row wrap">
      <label className="grow stack">
        stdin
        <textarea className="input mono" data-testid="test-stdin" value={c.stdin} onChange={(e) => change({ stdin: e.target.value })} />
      </label>
      <label className="grow stack">
        expected stdout
        <textarea className="input mono" data-testid="test-expected" value={c.expected} onChange={(e) => change({ expected: e.target.value })} />
      </label>
      <select
        className="input"
        aria-label={`Case ${props.n} comparison`}
        value={c.compare}
        onChange={(e) => change({ compare: e.target.value as Compare })}
      >
        {COMPARES.map((m) => (
          <option key={m.value} value={m.value}>
            {m.label}
          </option>
        ))}
      </select>
    </div>
  );
}

function FunctionFields(props: { c: TestCase; signature: Signature | null; change: (patch: Partial<TestCase>) => void }) {
  const { c, signature, change } = props;
  const problem = caseProblem(c, signature);
  return (
    <div className="stack">
      <div className="row wrap">
        <label className="grow stack">
          arguments of {signature ? `${signature.function}(${signature.params.join(', ')})` : 'the function'} (JSON array)
          <textarea className="input mono" data-testid="test-args" placeholder="[[2, 7, 11], 9]" value={c.args ?? ''} onChange={(e) => change({ args: e.target.value })} />
        </label>
        <label className="grow stack">
          expected return value (JSON; key order ignored, numbers within 1e-9)
          <textarea className="input mono" data-testid="test-expected" placeholder="[0, 1]" value={c.expected} onChange={(e) => change({ expected: e.target.value })} />
        </label>
      </div>
      {problem && (
        <p className="small alert alert-error" data-testid="test-problem">
          {problem}
        </p>
      )}
    </div>
  );
}

export default function TestCasesEditor(props: { cases: TestCase[]; signature: Signature | null; onChange: (cases: TestCase[]) => void }) {
  const { cases, signature, onChange } = props;
  const change = (i: number, patch: Partial<TestCase>) => onChange(cases.map((c, j) => (j === i ? { ...c, ...patch } : c)));
  return (
    <section className="stack" aria-label="Test cases">
      <h3>Test cases</h3>
      {cases.length === 0 && <p className="muted small">No test cases: candidates run their code by hand.</p>}
      {cases.map((c, i) => (
        <fieldset key={i} className="stack test-case" data-testid="test-case">
          <legend>Case {i + 1}</legend>
          <div className="row wrap">
            <input
              className="input grow"
              aria-label={`Case ${i + 1} name`}
              placeholder={`Case ${i + 1}`}
              value={c.name}
              onChange={(e) => change(i, { name: e.target.value })}
            />
            <select
              className="input"
              aria-label={`Case ${i + 1} kind`}
              data-testid="test-kind"
              value={c.kind ?? 'stdin'}
              onChange={(e) => onChange(cases.map((x, j) => (j === i ? withKind(x, e.target.value as 'stdin' | 'function') : x)))}
            >
              <option value="stdin">stdin → stdout</option>
              <option value="function" disabled={!signature && c.kind !== 'function'}>
                function call{signature ? '' : ' (declare a signature first)'}
              </option>
            </select>
          </div>
          {c.kind === 'function' ? (
            <FunctionFields c={c} signature={signature} change={(patch) => change(i, patch)} />
          ) : (
            <StdinFields n={i + 1} c={c} change={(patch) => change(i, patch)} />
          )}
          <div className="row wrap">
            <label className="row">
              <input type="checkbox" data-testid="test-hidden" checked={c.hidden} onChange={(e) => change(i, { hidden: e.target.checked })} />
              Hidden from the candidate
            </label>
            <button type="button" className="btn btn-small btn-ghost" onClick={() => onChange(cases.filter((_, j) => j !== i))}>
              Remove case
            </button>
          </div>
        </fieldset>
      ))}
      <div>
        <button type="button" className="btn btn-small" data-testid="add-test-case" onClick={() => onChange([...cases, { ...NEW_CASE }])}>
          Add test case
        </button>
      </div>
    </section>
  );
}
