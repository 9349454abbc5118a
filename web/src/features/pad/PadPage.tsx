import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { Link, useParams } from 'react-router-dom';
import { api, describeError, formatWait, isApiError, type PadDetail, type PadPreview } from '../../api';
import { AppHeader } from '../../ui/Header';
import { ErrorMessage, Loading } from '../../ui/common';
import { WaitingRoom } from '../interview/WaitingRoom';
import { Workspace } from './Workspace';

// Start fetching the editor chunk as soon as the pad page is wanted, in parallel with the API.
export const loadEditor = () => import('../../editor/CodeEditor');

type Access =
  | { kind: 'loading' }
  | { kind: 'ready'; detail: PadDetail }
  | { kind: 'waiting' }
  | { kind: 'locked'; preview: PadPreview }
  | { kind: 'noAccess'; preview: PadPreview }
  | { kind: 'notFound' }
  | { kind: 'error'; error: unknown };

async function resolveAccess(slug: string): Promise<Access> {
  try {
    return { kind: 'ready', detail: await api.pads.get(slug) };
  } catch (err) {
    // A candidate of an interview waits until an interviewer lets them in.
    if (isApiError(err) && err.code === 'waiting_room') return { kind: 'waiting' };
    if (!isApiError(err) || err.status !== 404) return { kind: 'error', error: err };
  }
  try {
    const preview = await api.pads.preview(slug);
    return preview.hasPassword ? { kind: 'locked', preview } : { kind: 'noAccess', preview };
  } catch (err) {
    if (isApiError(err) && err.status === 404) return { kind: 'notFound' };
    return { kind: 'error', error: err };
  }
}

export default function PadPage() {
  const { slug = '' } = useParams();
  const [access, setAccess] = useState<Access>({ kind: 'loading' });
  const [nonce, setNonce] = useState(0);
  const admitted = useCallback(() => setNonce((n) => n + 1), []);

  useEffect(() => {
    void loadEditor();
  }, []);

  useEffect(() => {
    let live = true;
    setAccess({ kind: 'loading' });
    void resolveAccess(slug).then((a) => live && setAccess(a));
    return () => {
      live = false;
    };
  }, [slug, nonce]);

  if (access.kind === 'ready') return <Workspace key={slug} detail={access.detail} />;

  return (
    <>
      <AppHeader />
      <main className="page narrow">
        {access.kind === 'loading' && <Loading label="Opening the pad…" />}
        {access.kind === 'waiting' && <WaitingRoom slug={slug} onAdmitted={admitted} />}
        {access.kind === 'error' && (
          <ErrorMessage error={access.error} title="Couldn't open this pad." onRetry={() => setNonce((n) => n + 1)} />
        )}
        {access.kind === 'notFound' && (
          <div className="card stack">
            <h1>Pad not found</h1>
            <p className="muted">
              This pad doesn't exist, or you don't have access to it. If someone shared it with you, ask them for an
              invite link.
            </p>
            <div>
              <Link className="btn btn-primary" to="/dashboard">
                Back to your pads
              </Link>
            </div>
          </div>
        )}
        {access.kind === 'noAccess' && (
          <div className="card stack">
            <h1>{access.preview.title}</h1>
            <p>You're not a member of this pad. Ask its owner for an invite link.</p>
            <div>
              <Link className="btn" to="/dashboard">
                Back to your pads
              </Link>
            </div>
          </div>
        )}
        {access.kind === 'locked' && (
          <UnlockForm slug={slug} preview={access.preview} onUnlocked={() => setNonce((n) => n + 1)} />
        )}
      </main>
    </>
  );
}

/** Password gate: wrong passwords are refused, and throttling waits are shown as they are. */
export function UnlockForm(props: { slug: string; preview: PadPreview; onUnlocked: () => void }) {
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [waitUntil, setWaitUntil] = useState<number | null>(null);
  const [now, setNow] = useState(Date.now());

  useEffect(() => {
    if (waitUntil == null) return;
    const t = setInterval(() => {
      const n = Date.now();
      setNow(n);
      if (n >= waitUntil) setWaitUntil(null);
    }, 250);
    return () => clearInterval(t);
  }, [waitUntil]);

  const waiting = waitUntil != null && waitUntil > now;
  const remaining = waiting ? Math.ceil((waitUntil! - now) / 1000) : 0;

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!password || waiting) return;
    setBusy(true);
    setError(null);
    try {
      await api.pads.unlock(props.slug, password);
      props.onUnlocked();
    } catch (err) {
      if (isApiError(err) && err.status === 429) {
        const secs = err.retryAfter ?? 5;
        setWaitUntil(Date.now() + secs * 1000);
        setNow(Date.now());
        setError(null);
      } else if (isApiError(err) && (err.status === 401 || err.status === 403 || err.code === 'wrong_password')) {
        setError('Wrong password.');
      } else {
        setError(describeError(err));
      }
    } finally {
      setBusy(false);
    }
  };

  return (
    <form className="card stack" onSubmit={submit} aria-labelledby="unlock-title">
      <h1 id="unlock-title">{props.preview.title}</h1>
      <p>This pad is password protected. Enter its password to join.</p>
      <label htmlFor="pad-password">Password</label>
      <div className="row">
        <input
          id="pad-password"
          className="input grow"
          type="password"
          autoFocus
          autoComplete="off"
          value={password}
          onChange={(e) => setPassword(e.target.value)}
        />
        <button className="btn btn-primary" type="submit" disabled={busy || !password || waiting}>
          {busy ? 'Checking…' : 'Unlock'}
        </button>
      </div>
      {error && (
        <p className="alert alert-error" role="alert">
          {error}
        </p>
      )}
      {waiting && (
        <p className="alert alert-warn" role="status">
          Too many attempts. You can try again in {formatWait(remaining)}.
        </p>
      )}
      <Link to="/dashboard" className="small">
        Back to your pads
      </Link>
    </form>
  );
}
