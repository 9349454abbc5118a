// Single sign-on in the client: which ways in the server offers (asked once per page load), and
// the button that starts a sign-in (or links the signed-in account) and sends the browser to the
// identity provider. The provider sends it back to the server, which lands it on `/` signed in
// (the session cookie), or on `/?sso_error=<code>`.
import { useEffect, useState } from 'react';
import { api, describeError, type AuthConfig } from '../../api';
import { sanitizeNext } from './deepLink';

/** Where the signing-in tab meant to go; the provider sends it back to `/`, which moves on. */
const NEXT_KEY = 'oc_sso_next';

/** The destination kept when this tab left for the provider (once), or null. */
export function takeSsoNext(): string | null {
  const stored = sessionStorage.getItem(NEXT_KEY);
  sessionStorage.removeItem(NEXT_KEY);
  return sanitizeNext(stored);
}

let configRequest: Promise<AuthConfig> | null = null;

/** The server's ways in; null while loading. A failed request counts as "names only", the
 * server's default, so the page never hides the only way in. */
export function useAuthConfig(): AuthConfig | null {
  const [config, setConfig] = useState<AuthConfig | null>(null);
  useEffect(() => {
    let live = true;
    configRequest ??= api.auth.config().catch(() => {
      configRequest = null;
      return { names: true, sso: null };
    });
    configRequest.then((c) => live && setConfig(c));
    return () => {
      live = false;
    };
  }, []);
  return config;
}

/** The `?sso_error=` code of the page the server redirected to after a refused sign-in. */
export function ssoErrorIn(search: string): string | null {
  return new URLSearchParams(search).get('sso_error');
}

export function SsoButton(props: { label: string; next: string; invite?: string; link?: boolean; primary?: boolean }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const start = async () => {
    setBusy(true);
    setError(null);
    try {
      const { url } = await api.auth.ssoStart({ invite: props.invite, link: props.link });
      sessionStorage.setItem(NEXT_KEY, props.next);
      window.location.assign(url);
    } catch (err) {
      setError(describeError(err));
      setBusy(false);
    }
  };
  const text = props.link ? `Link ${props.label}` : `Sign in with ${props.label}`;
  return (
    <div className="stack">
      <button
        type="button"
        className={props.primary ? 'btn btn-primary' : 'btn'}
        data-testid={props.link ? 'sso-link' : 'sso-sign-in'}
        disabled={busy}
        onClick={start}
      >
        {busy ? 'Opening…' : text}
      </button>
      {error && (
        <p className="alert alert-error" role="alert">
          {error}
        </p>
      )}
    </div>
  );
}

/** Whether the signed-in account is linked (null while asking, or when the server cannot say). */
export function useSsoLinked(enabled: boolean): boolean | null {
  const [linked, setLinked] = useState<boolean | null>(null);
  useEffect(() => {
    if (!enabled) return;
    let live = true;
    api.auth
      .ssoLinked()
      .then((r) => live && setLinked(r.linked))
      .catch(() => live && setLinked(null));
    return () => {
      live = false;
    };
  }, [enabled]);
  return linked;
}
