import { useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router-dom';
import { api, describeError, isApiError } from '../../api';
import { AppHeader } from '../../ui/Header';
import { ErrorMessage, Loading, useLoad } from '../../ui/common';
import { signInUrlFor } from '../auth/deepLink';
import { useSession } from '../auth/session';

const ROLE_WORDS: Record<string, string> = {
  collaborator: 'edit, run and chat',
  candidate: 'edit, run and chat (interview candidate)',
  viewer: 'watch and chat (view only)',
};

export default function InvitePage() {
  const { token = '' } = useParams();
  const s = useSession();
  const navigate = useNavigate();
  const preview = useLoad(() => api.invites.preview(token), [token]);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const accept = async () => {
    setBusy(true);
    setError(null);
    try {
      const res = await api.invites.accept(token);
      const slug = res.slug ?? res.padSlug;
      if (!slug) throw new Error('Joined, but the server did not say which pad.');
      navigate(`/p/${slug}`, { replace: true });
    } catch (err) {
      setError(describeError(err));
      setBusy(false);
    }
  };

  let body;
  if (preview.loading || s.status === 'loading') {
    body = <Loading label="Checking the invitation…" />;
  } else if (preview.error) {
    const err = preview.error;
    const gone = isApiError(err) && (err.status === 404 || err.status === 410);
    body = gone ? (
      <div className="card stack">
        <h1>This invite can't be used</h1>
        <p>
          {isApiError(err) && err.code === 'invite_expired'
            ? 'It has expired.'
            : isApiError(err) && err.code === 'invite_used_up'
              ? 'It has been used the maximum number of times.'
              : "It doesn't exist or was revoked."}{' '}
          Ask whoever sent it for a new link.
        </p>
        <div>
          <Link className="btn" to={s.status === 'signedIn' ? '/dashboard' : '/'}>
            {s.status === 'signedIn' ? 'Back to your pads' : 'Go to opencoder'}
          </Link>
        </div>
      </div>
    ) : (
      <ErrorMessage error={err} title="Couldn't check the invitation." onRetry={preview.reload} />
    );
  } else if (preview.data) {
    const p = preview.data;
    const title = p.padTitle ?? p.title ?? 'a pad';
    body = (
      <div className="card stack invite-card">
        <span className="pill">Invitation</span>
        <h1>You've been invited to “{title}”</h1>
        <p>
          You'll join as <span className={`chip chip-role-${p.role}`} data-testid="invite-role">{p.role}</span>
          {ROLE_WORDS[p.role] ? <> — you can {ROLE_WORDS[p.role]}.</> : '.'}
        </p>
        {p.expiresAt && <p className="muted small">This link expires {new Date(p.expiresAt).toLocaleString()}.</p>}
        {error && (
          <p className="alert alert-error" role="alert">
            {error}
          </p>
        )}
        {s.status === 'signedIn' ? (
          <div className="row wrap">
            <button className="btn btn-primary" onClick={() => void accept()} disabled={busy}>
              {busy ? 'Joining…' : 'Join pad →'}
            </button>
            <span className="muted small">as {s.user.name}</span>
          </div>
        ) : (
          <div className="row wrap">
            <Link className="btn btn-primary" to={signInUrlFor(`/invite/${token}`)}>
              Pick a name & join →
            </Link>
            <span className="muted small">You'll come back here after signing in.</span>
          </div>
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
