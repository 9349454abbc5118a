// The question form's test cases: stdin and expected stdout, visible or hidden, and how the output
// is compared. Hidden cases run on submission and for interviewers; candidates never see them.
import { COMPARES, type Compare, type TestCase } from './interviewApi';

const NEW_CASE: TestCase = { name: '', stdin: '', expected: '', hidden: false, compare: 'trimmed' };

export default function TestCasesEditor(props: { cases: TestCase[]; onChange: (cases: TestCase[]) => void }) {
  const { cases, onChange } = props;
  const change = (i: number, patch: Partial<TestCase>) => onChange(cases.map((c, j) => (j === i ? { ...c, ...patch } : c)));
  return (
    <section className="stack" aria-label="Test cases">
      <h3>Test cases</h3>
      {cases.length === 0 && <p className="muted small">No test cases: candidates run their code by hand.</p>}
      {cases.map((c, i) => (
        <fieldset key={i} className="stack test-case" data-testid="test-case">
          <legend>Case {i + 1}</legend>
          <input
            className="input"
            aria-label={`Case ${i + 1} name`}
            placeholder={`Case ${i + 1}`}
            value={c.name}
            onChange={(e) => change(i, { name: e.target.value })}
          />
          <div className="row wrap">
            <label className="grow stack">
              stdin
              <textarea className="input mono" data-testid="test-stdin" value={c.stdin} onChange={(e) => change(i, { stdin: e.target.value })} />
            </label>
            <label className="grow stack">
              expected stdout
              <textarea
                className="input mono"
                data-testid="test-expected"
                value={c.expected}
                onChange={(e) => change(i, { expected: e.target.value })}
              />
            </label>
          </div>
          <div className="row wrap">
            <label className="row">
              <input type="checkbox" data-testid="test-hidden" checked={c.hidden} onChange={(e) => change(i, { hidden: e.target.checked })} />
              Hidden from the candidate
            </label>
            <select
              className="input"
              aria-label={`Case ${i + 1} comparison`}
              value={c.compare}
              onChange={(e) => change(i, { compare: e.target.value as Compare })}
            >
              {COMPARES.map((m) => (
                <option key={m.value} value={m.value}>
                  {m.label}
                </option>
              ))}
            </select>
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
