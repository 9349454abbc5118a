// Make a take-home link from a question: when it opens and closes, the time limit once started,
// the languages offered. The link is shown once, with a copy button; it is never shown again.
import { useState, type FormEvent } from 'react';
import { describeError } from '../../api';
import { toast } from '../../ui/toast';
import { questionsApi, type Question } from './interviewApi';

const HOUR_MS = 3_600_000;
const LIMITS_MINUTES = [30, 60, 90, 120, 180, 240];

/** A `datetime-local` value for `ms` in the browser's time zone. */
function localInput(ms: number): string {
  const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60_000);
  return d.toISOString().slice(0, 16);
}

export default function TakehomeCreate(props: { question: Question }) {
  const [opens, setOpens] = useState(() => localInput(Date.now()));
  const [closes, setCloses] = useState(() => localInput(Date.now() + 7 * 24 * HOUR_MS));
  const [minutes, setMinutes] = useState(90);
  const [language, setLanguage] = useState('');
  const [url, setUrl] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const create = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    try {
      const created = await questionsApi.createTakehome(props.question.id, {
        opensAtMs: new Date(opens).getTime(),
        closesAtMs: new Date(closes).getTime(),
        timeLimitMs: minutes * 60_000,
        languages: language ? [language] : [],
      });
      setUrl(created.url);
    } catch (err) {
      toast(`Couldn't make the take-home: ${describeError(err)}`, 'error');
    } finally {
      setBusy(false);
    }
  };
  const copy = async () => {
    if (!url) return;
    try {
      await navigator.clipboard.writeText(url);
      toast('Link copied', 'success');
    } catch {
      toast('Copy failed: select the link and copy it by hand', 'error');
    }
  };
  return (
    <details className="stack takehome-create" data-testid="takehome-toggle">
      <summary>Take-home link</summary>
      <form className="stack" onSubmit={create} aria-label="New take-home">
        <div className="row wrap">
          <label className="stack">
            Opens
            <input type="datetime-local" className="input" value={opens} onChange={(e) => setOpens(e.target.value)} required />
          </label>
          <label className="stack">
            Closes
            <input type="datetime-local" className="input" value={closes} onChange={(e) => setCloses(e.target.value)} required />
          </label>
          <label className="stack">
            Time limit
            <select className="input" data-testid="takehome-limit" value={minutes} onChange={(e) => setMinutes(Number(e.target.value))}>
              {LIMITS_MINUTES.map((m) => (
                <option key={m} value={m}>
                  {m} min
                </option>
              ))}
            </select>
          </label>
          <label className="stack">
            Language
            <select className="input" value={language} onChange={(e) => setLanguage(e.target.value)}>
              <option value="">candidate's choice</option>
              {props.question.languages.map((l) => (
                <option key={l.language} value={l.language}>
                  {l.language}
                </option>
              ))}
            </select>
          </label>
        </div>
        <div>
          <button className="btn btn-primary" type="submit" disabled={busy} data-testid="create-takehome">
            {busy ? 'Making…' : 'Make a take-home link'}
          </button>
        </div>
      </form>
      {url && (
        <div className="stack" role="status">
          <p className="small">Send this link to one candidate. It is shown only now.</p>
          <div className="row wrap">
            <input className="input grow mono" readOnly value={url} data-testid="takehome-url" onFocus={(e) => e.currentTarget.select()} />
            <button type="button" className="btn btn-small" onClick={() => void copy()}>
              Copy
            </button>
          </div>
        </div>
      )}
    </details>
  );
}
