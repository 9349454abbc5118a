import type { ReactNode } from 'react';
import { Navigate, useLocation } from 'react-router-dom';
import { ErrorMessage, Loading } from '../../ui/common';
import { signInUrlFor } from './deepLink';
import { session, useSession } from './session';

/** Render children for a signed-in user; otherwise send them to sign in and back here after. */
export function RequireAuth(props: { children: ReactNode }) {
  const s = useSession();
  const location = useLocation();
  if (s.status === 'loading') return <Loading label="Checking your session…" />;
  if (s.status === 'error')
    return (
      <div className="center-pad">
        <ErrorMessage error={new Error(`Couldn't check your session: ${s.message}`)} onRetry={() => void session.hydrate()} />
      </div>
    );
  if (s.status === 'signedOut') {
    return <Navigate to={signInUrlFor(location.pathname + location.search)} replace />;
  }
  return <>{props.children}</>;
}
