import { useState } from 'react';
import { Link, useNavigate } from 'react-router-dom';
import { describeError } from '../../api';
import { ConfirmDialog } from '../../ui/Modal';
import { toast } from '../../ui/toast';
import { session } from './session';
import { useAuthConfig } from './sso';

/** Sign out of this browser, after reminding how to sign back in: the recovery key, or the
 * single sign-on where it is the only way in. */
export function SignOutDialog(props: { onClose: () => void }) {
  const navigate = useNavigate();
  const config = useAuthConfig();
  const [busy, setBusy] = useState(false);
  return (
    <ConfirmDialog
      title="Sign out?"
      confirmLabel="Sign out"
      busy={busy}
      onCancel={props.onClose}
      onConfirm={async () => {
        setBusy(true);
        try {
          await session.logout();
        } catch (err) {
          toast(`Signed out here, but the server said: ${describeError(err)}`, 'error');
        }
        props.onClose();
        navigate('/');
      }}
    >
      {config && !config.names && config.sso ? (
        <p data-testid="sign-out-reminder">Sign back in with {config.sso.label}.</p>
      ) : (
        <p data-testid="sign-out-reminder">
          There is no password or email: your <strong>recovery key</strong> is the only way back into this account
          {config?.sso ? ` (or ${config.sso.label}, if you linked it in Settings)` : ''}. If you haven't saved it, cancel
          and make a new one in{' '}
          <Link to="/settings" onClick={props.onClose}>
            Settings
          </Link>{' '}
          first.
        </p>
      )}
    </ConfirmDialog>
  );
}
