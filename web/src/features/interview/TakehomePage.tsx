// The take-home link's start page: the rules (time limit, window, languages), then Start, which
// makes the candidate's private pad and starts the clock on the server. Before Start the prompt
// stays hidden, so reading it never costs time.
import { useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router-dom';
import { describeError, isApiError } from '../../api';
import { AppHeader } from '../../ui/Header';
import { ErrorMessage, Loading, useLoad } from '../../ui/common';
import { takehomeApi, type LinkPreview } from './interviewApi';

const when = (ms: number) => new Date(ms).toLocaleString();

function minutes(ms: number): string {
  const m = Math.round(ms / 60_000);
  return m >= 1 ? `${m} minute${m === 1 ? '' : 's'}` : `${Math.round(ms / 1000)} seconds`;
}

const STATUS_TEXT: Record<Exclude<LinkPreview['status'], 'open' | 'started'>, string> = {
  not_open: 'This take-home has not opened yet.',
  closed: "This take-home's window has closed.",
  submitted: 'You have submitted this take-home. Thank you!',
  used: 'This link has already been used by someone else.',
};

export default function TakehomePage() {
  const { token = '' } = useParams();
  const navigate = useNavigate();
  const preview = useLoad(() => takehomeApi.preview(token), [token]);
  const [language, setLanguage] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const start = async () => {
    setBusy(true);
    setError(null);
    try {
      const attempt = await takehomeApi.start(token, language || undefined);
      navigate(`/p/${attempt.slug}`, { replace: true });
    } catch (err) {
      setError(describeError(err));
      setBusy(false);
    }
  };

  let body;
  if (preview.loading) {
    body = <Loading label="Checking the link…" />;
  } else if (preview.error) {
    body =
      isApiError(preview.error) && preview.error.status === 404 ? (
        <div className="card stack">
          <h1>This link can't be used</h1>
          <p>It doesn't exist. Ask whoever sent it for a new one.</p>
        </div>
      ) : (
        <ErrorMessage error={preview.error} title="Couldn't check the link." onRetry={preview.reload} />
      );
  } else if (preview.data) {
    const p = preview.data;
    body = (
      <div className="card stack" data-testid="takehome-start-page">
        <span className="pill">Take-home</span>
        <h1>{p.title}</h1>
        <ul className="stack">
          <li>
            Once you press Start you have <strong data-testid="takehome-limit-text">{minutes(p.timeLimitMs)}</strong>. The clock runs on
            the server; at the end your work is submitted automatically.
          </li>
          <li>
            Start between {when(p.opensAtMs)} and {when(p.closesAtMs)}.
          </li>
          <li>You work alone. Your session is recorded. You can run the visible tests as often as you like; hidden tests run when you submit.</li>
          <li>After you submit, the pad is read-only.</li>
        </ul>
        {p.status === 'started' && p.slug && (
          <Link className="btn btn-primary" to={`/p/${p.slug}`}>
            Back to your take-home →
          </Link>
        )}
        {p.status === 'open' && (
          <div className="row wrap">
            {p.languages.length > 1 && (
              <select className="input" aria-label="Language" value={language} onChange={(e) => setLanguage(e.target.value)}>
                {p.languages.map((l) => (
                  <option key={l} value={l}>
                    {l}
                  </option>
                ))}
              </select>
            )}
            <button className="btn btn-primary" disabled={busy} data-testid="takehome-start" onClick={() => void start()}>
              {busy ? 'Starting…' : 'Start'}
            </button>
          </div>
        )}
        {p.status !== 'open' && p.status !== 'started' && (
          <p className="alert alert-info" role="status" data-testid="takehome-status">
            {STATUS_TEXT[p.status]}
          </p>
        )}
        {error && (
          <p className="alert alert-error" role="alert">
            {error}
          </p>
        )}
      </div>
    );
  }
  return (
    <>
      <AppHeader />
      <main className="page narrow">{body}</main>
    </>
  );
}
