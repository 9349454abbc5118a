import { useEffect, useState } from 'react';
import { useNavigate } from 'react-router-dom';
import type { Health } from '../../api';
import { useStore } from '../../ui/store';
import type { PadSession } from './padSession';

/** What the workspace must say above the editor: an unsandboxed or unavailable runner, view-only, offline. */
export function Banners(props: { session: PadSession; health: Health | null }) {
  const { session, health } = props;
  const role = useStore(session.store, (s) => s.role);
  const status = useStore(session.store, (s) => s.status);
  const everSynced = useStore(session.store, (s) => s.everSynced);
  const exec = health?.exec;
  return (
    <>
      {exec && exec.isolated === false && (
        <div className="banner banner-warn" role="note">
          <strong>Code runs unsandboxed on this server</strong> ({String(exec.backend ?? 'local')} backend): programs run
          as a plain process on the host, without Docker isolation. Only run code you trust.
        </div>
      )}
      {exec && exec.available === false && (
        <div className="banner banner-error" role="note">
          Running code is unavailable right now{exec.detail ? `: ${String(exec.detail)}` : '.'}
        </div>
      )}
      {role === 'viewer' && (
        <div className="banner banner-info" role="note" data-testid="viewer-banner">
          <strong>View only.</strong> You can watch, chat and fork, but not edit or run. Ask the owner for edit access.
        </div>
      )}
      {(status === 'offline' || (status === 'reconnecting' && everSynced)) && (
        <div className="banner banner-warn" role="status">
          {status === 'offline'
            ? "You're offline. Keep typing — your edits are kept here and sync when you're back."
            : 'Connection lost. Reconnecting… your edits are kept here and sync when it’s back.'}
          <button className="btn btn-small" onClick={() => session.provider.reconnectNow()}>
            Retry now
          </button>
        </div>
      )}
    </>
  );
}

/** Shown when the pad's socket closed for good: access lost (then back to the dashboard) or signed out. */
export function ClosedScreen(props: { session: PadSession }) {
  const reason = useStore(props.session.store, (s) => s.closeReason);
  const title = useStore(props.session.store, (s) => s.pad.title);
  const navigate = useNavigate();
  const [left, setLeft] = useState(8);
  const noAccess = reason?.kind === 'no_access';
  useEffect(() => {
    if (!noAccess) return;
    const t = setInterval(() => setLeft((n) => n - 1), 1000);
    return () => clearInterval(t);
  }, [noAccess]);
  useEffect(() => {
    if (noAccess && left <= 0) navigate('/dashboard', { replace: true });
  }, [left, noAccess, navigate]);
  if (!reason || reason.kind === 'destroyed') return null;
  return (
    <div className="modal-backdrop">
      <div className="modal card" role="alertdialog" aria-labelledby="closed-title" aria-describedby="closed-body">
        <div className="modal-head">
          <h2 id="closed-title">{noAccess ? 'You no longer have access' : 'Signed out'}</h2>
        </div>
        <div className="modal-body stack">
          <p id="closed-body" data-testid="closed-message">
            {noAccess
              ? `You were removed from “${title}”, or the pad was deleted. You can't see or edit it any more.`
              : 'Your session ended (you signed out everywhere, or the account was deleted). Sign in again to continue.'}
          </p>
          {noAccess && <p className="muted small">Going back to your pads in {Math.max(0, left)} s…</p>}
          <div className="row end">
            <button className="btn btn-primary" autoFocus onClick={() => navigate(noAccess ? '/dashboard' : '/', { replace: true })}>
              {noAccess ? 'Back to your pads' : 'Sign in'}
            </button>
          </div>
        </div>
      </div>
    </div>
  );
}
