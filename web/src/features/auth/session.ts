// The signed-in user, as a tiny external store (no state library). The token lives in
// localStorage (`oc_token`) for the Authorization header and the WebSocket subprotocol; the
// server's httpOnly cookie is a second path that keeps reloads working.
import { useSyncExternalStore } from 'react';
import { api, client, isApiError, onUnauthorized, type User } from '../../api';
import { TOKEN_KEY } from '../../api/client';

export type SessionState =
  | { status: 'loading' }
  | { status: 'signedOut'; reason?: 'expired' | 'signedOut' | 'deleted' }
  | { status: 'signedIn'; user: User }
  | { status: 'error'; message: string };

let state: SessionState = { status: 'loading' };
const listeners = new Set<() => void>();

function set(next: SessionState) {
  state = next;
  listeners.forEach((l) => l());
}

export const session = {
  get: () => state,
  subscribe(listener: () => void) {
    listeners.add(listener);
    return () => listeners.delete(listener);
  },
  token: () => client.tokens.get(),

  /** Ask the server who we are (bearer token, else the cookie). */
  async hydrate(): Promise<void> {
    try {
      const { user } = await api.auth.me();
      if (user) set({ status: 'signedIn', user });
      else set({ status: 'signedOut' });
    } catch (err) {
      if (isApiError(err) && err.status === 401) {
        const hadToken = client.tokens.get() != null;
        client.tokens.set(null);
        set({ status: 'signedOut', reason: hadToken ? 'expired' : undefined });
      } else {
        set({ status: 'error', message: isApiError(err) ? err.message : String(err) });
      }
    }
  },

  signedIn(token: string, user: User) {
    client.tokens.set(token);
    set({ status: 'signedIn', user });
  },

  updateUser(user: User) {
    if (state.status === 'signedIn') set({ status: 'signedIn', user });
  },

  /** Forget the session locally (the server side is handled by the caller). */
  clear(reason: 'expired' | 'signedOut' | 'deleted') {
    client.tokens.set(null);
    set({ status: 'signedOut', reason });
  },

  /** After a single sign-on the server may answer the provider's logout URL: the browser goes
   * there so the provider's session ends too, and the provider sends it back to `/`. */
  async logout(): Promise<void> {
    let redirect: string | undefined;
    try {
      redirect = (await api.auth.logout()).redirect;
    } finally {
      session.clear('signedOut');
    }
    if (redirect) window.location.assign(redirect);
  },
};

// Signing in or out in another tab changes the stored token: follow it here too.
if (typeof window !== 'undefined') {
  window.addEventListener('storage', async (e) => {
    if (e.key !== TOKEN_KEY && e.key !== null) return;
    const before = state.status === 'signedIn' ? state.user.id : null;
    await session.hydrate();
    const now = session.get();
    const after = now.status === 'signedIn' ? now.user.id : null;
    // Another account now: start over rather than show one user's pad as another.
    if (before != null && after != null && before !== after) window.location.reload();
  });
}

onUnauthorized(() => {
  if (state.status === 'signedIn') session.clear('expired');
});

export function useSession(): SessionState {
  return useSyncExternalStore(session.subscribe, session.get, session.get);
}

export function useUser(): User | null {
  const s = useSession();
  return s.status === 'signedIn' ? s.user : null;
}
