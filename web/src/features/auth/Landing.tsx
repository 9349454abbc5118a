import { useEffect, useState, type FormEvent } from 'react';
import { Link, useLocation, useNavigate } from 'react-router-dom';
import { api, describeCode, describeError } from '../../api';
import { AppHeader, Logo } from '../../ui/Header';
import { Spinner } from '../../ui/common';
import { afterSignIn, inviteTokenIn } from './deepLink';
import { RecoveryKeyPanel } from './RecoveryKeyPanel';
import { session, useSession } from './session';
import { SsoButton, ssoErrorIn, takeSsoNext, useAuthConfig } from './sso';

function destinationLabel(path: string): string | null {
  if (path.startsWith('/invite/')) return 'the invitation you opened';
  if (path.startsWith('/take-home/')) return 'the take-home you opened';
  if (path.startsWith('/p/')) return 'the pad you opened';
  if (path === '/settings') return 'your settings';
  return null;
}

export function Landing() {
  const s = useSession();
  const location = useLocation();
  const navigate = useNavigate();
  const next = afterSignIn(location.search);
  const [name, setName] = useState('');
  const [mode, setMode] = useState<'signup' | 'recover'>('signup');
  const [key, setKey] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [fresh, setFresh] = useState<{ recoveryKey: string; name: string } | null>(null);
  const [switching, setSwitching] = useState(false);
  const config = useAuthConfig();
  const ssoError = ssoErrorIn(location.search);

  const dest = destinationLabel(next);

  // Back from the identity provider signed in: on to where the sign-in started from. Back with a
  // refusal: that destination is dropped (a retry keeps it again), so a later name sign-up is
  // never moved off its recovery key.
  useEffect(() => {
    if (ssoError) {
      takeSsoNext();
      return;
    }
    if (s.status !== 'signedIn' || fresh) return;
    const back = takeSsoNext();
    if (back) navigate(back, { replace: true });
  }, [s.status, fresh, ssoError, navigate]);

  if (fresh) {
    return (
      <div className="landing">
        <main className="landing-card card">
          <RecoveryKeyPanel
            recoveryKey={fresh.recoveryKey}
            userName={fresh.name}
            onDone={() => navigate(next, { replace: true })}
            doneLabel={dest ? `Continue to ${dest} →` : 'Continue to your pads →'}
          />
        </main>
      </div>
    );
  }


  const signup = async (e: FormEvent) => {
    e.preventDefault();
    const trimmed = name.trim();
    if (!trimmed) return;
    setBusy(true);
    setError(null);
    try {
      const res = await api.auth.signup(trimmed, inviteTokenIn(next));
      // The recovery key panel first, so nothing that follows a sign-in moves past it.
      setFresh({ recoveryKey: res.recoveryKey, name: res.user.name });
      session.signedIn(res.token, res.user);
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  };

  const recover = async (e: FormEvent) => {
    e.preventDefault();
    const trimmed = key.trim();
    if (!trimmed) return;
    setBusy(true);
    setError(null);
    try {
      const res = await api.auth.recover(trimmed);
      session.signedIn(res.token, res.user);
      navigate(next, { replace: true });
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  };

  const signedIn = s.status === 'signedIn' && !switching;

  return (
    <div className="landing">
      <AppHeader />
      <main className="landing-card card">
        <div className="landing-hero">
          <Logo />
          <span className="pill">self-hosted · open source</span>
          <h1>Code together, on your own port.</h1>
          <p className="muted">
            {config && !config.names && config.sso
              ? `Sign in with ${config.sso.label} and share the link.`
              : 'Pick a name — no email, no password — and share the link.'}{' '}
            Edit together with live cursors, run code in a sandbox and watch the output stream in.
          </p>
        </div>

        {s.status === 'signedOut' && s.reason === 'expired' && (
          <p className="alert alert-info">Your session has ended. Sign back in with your recovery key, or start a new account.</p>
        )}
        {dest && !signedIn && <p className="alert alert-info">Sign in to continue to {dest}.</p>}
        {ssoError && !signedIn && (
          <p className="alert alert-error" role="alert" data-testid="sso-error">
            {describeCode(ssoError)}
          </p>
        )}

        {s.status === 'error' && (
          <p className="alert alert-warn">Couldn't check whether you're signed in ({s.message}). You can still sign in below.</p>
        )}
        {s.status === 'loading' ? (
          <Spinner label="Checking your session…" />
        ) : signedIn && s.status === 'signedIn' ? (
          <div className="stack">
            <p>
              You're signed in as <strong>{s.user.name}</strong>.
            </p>
            <div className="row wrap">
              <Link className="btn btn-primary" to={next} replace>
                {dest ? `Continue to ${dest} →` : 'Continue to your pads →'}
              </Link>
              <button className="btn btn-ghost" onClick={() => setSwitching(true)}>
                Not you? Use another account
              </button>
            </div>
          </div>
        ) : s.status === 'signedIn' && switching ? (
          <div className="stack">
            <p className="alert alert-warn">
              You're signed in as <strong>{s.user.name}</strong>. To use another account, sign out first. Your pads stay
              with <strong>{s.user.name}</strong>; you'll need its recovery key to get back in.
            </p>
            <div className="row wrap">
              <button
                className="btn btn-danger"
                onClick={async () => {
                  try {
                    await session.logout();
                  } catch (err) {
                    setError(describeError(err));
                  }
                  setSwitching(false);
                }}
              >
                Sign out of {s.user.name}
              </button>
              <button className="btn" onClick={() => setSwitching(false)}>
                Cancel
              </button>
            </div>
            {error && (
              <p className="alert alert-error" role="alert">
                {error}
              </p>
            )}
          </div>
        ) : config === null ? (
          <Spinner label="Loading…" />
        ) : !config.names && config.sso ? (
          <SsoButton label={config.sso.label} next={next} invite={inviteTokenIn(next)} primary />
        ) : mode === 'signup' ? (
          <form className="stack" onSubmit={signup} aria-label="Guest signup">
            {config.sso && (
              <>
                <SsoButton label={config.sso.label} next={next} invite={inviteTokenIn(next)} primary />
                <p className="muted small">or pick a name:</p>
              </>
            )}
            <label htmlFor="signup-name" className="sr-only">
              Your name
            </label>
            <div className="row">
              <input
                id="signup-name"
                className="input grow"
                placeholder="your name"
                value={name}
                maxLength={60}
                autoFocus
                required
                autoComplete="nickname"
                onChange={(e) => setName(e.target.value)}
              />
              <button className="btn btn-primary" type="submit" disabled={busy || !name.trim()}>
                {busy ? 'Starting…' : 'Start coding →'}
              </button>
            </div>
            {error && (
              <p className="alert alert-error" role="alert">
                {error}
              </p>
            )}
            <button
              type="button"
              className="link-button"
              onClick={() => {
                setMode('recover');
                setError(null);
              }}
            >
              I have a recovery key
            </button>
          </form>
        ) : (
          <form className="stack" onSubmit={recover} aria-label="Sign in with a recovery key">
            <label htmlFor="recovery-key">Recovery key</label>
            <div className="row">
              <input
                id="recovery-key"
                className="input grow mono"
                placeholder="paste your recovery key"
                value={key}
                autoFocus
                autoComplete="off"
                spellCheck={false}
                onChange={(e) => setKey(e.target.value)}
              />
              <button className="btn btn-primary" type="submit" disabled={busy || !key.trim()}>
                {busy ? 'Signing in…' : 'Sign in'}
              </button>
            </div>
            {error && (
              <p className="alert alert-error" role="alert">
                {error}
              </p>
            )}
            <button
              type="button"
              className="link-button"
              onClick={() => {
                setMode('signup');
                setError(null);
              }}
            >
              New here? Pick a name instead
            </button>
          </form>
        )}
      </main>
    </div>
  );
}
