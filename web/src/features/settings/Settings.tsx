import { useState, type FormEvent } from 'react';
import { useNavigate } from 'react-router-dom';
import { api, describeError } from '../../api';
import { AppHeader } from '../../ui/Header';
import { ConfirmDialog, Modal } from '../../ui/Modal';
import { useTheme, setTheme } from '../../ui/theme';
import { toast } from '../../ui/toast';
import { RecoveryKeyPanel } from '../auth/RecoveryKeyPanel';
import { SignOutDialog } from '../auth/SignOutDialog';
import { session, useUser } from '../auth/session';
import { SsoButton, useAuthConfig, useSsoLinked } from '../auth/sso';
import { EditorPrefsForm } from './EditorPrefs';

export default function Settings() {
  const user = useUser();
  const navigate = useNavigate();
  const theme = useTheme();
  const [name, setName] = useState(user?.name ?? '');
  const [signingOut, setSigningOut] = useState(false);
  const [nameBusy, setNameBusy] = useState(false);
  const [nameError, setNameError] = useState<string | null>(null);
  const [confirmRotate, setConfirmRotate] = useState(false);
  const [rotateBusy, setRotateBusy] = useState(false);
  const [rotateError, setRotateError] = useState<string | null>(null);
  const [newKey, setNewKey] = useState<string | null>(null);
  const [confirmLogoutAll, setConfirmLogoutAll] = useState(false);
  const [logoutAllBusy, setLogoutAllBusy] = useState(false);
  const [logoutAllError, setLogoutAllError] = useState<string | null>(null);
  const [deleteText, setDeleteText] = useState('');
  const [confirmDelete, setConfirmDelete] = useState(false);
  const [deleteBusy, setDeleteBusy] = useState(false);
  const [deleteError, setDeleteError] = useState<string | null>(null);
  const authConfig = useAuthConfig();
  const ssoLinked = useSsoLinked(Boolean(authConfig?.sso));

  if (!user) return null;

  const rename = async (e: FormEvent) => {
    e.preventDefault();
    setNameBusy(true);
    setNameError(null);
    try {
      const res = await api.auth.rename(name.trim());
      session.updateUser(res.user);
      setName(res.user.name);
      toast('Name updated', 'success');
    } catch (err) {
      setNameError(describeError(err));
    } finally {
      setNameBusy(false);
    }
  };

  return (
    <>
      <AppHeader />
      <main className="page narrow stack-lg">
        <h1>Account settings</h1>

        <section className="card stack" aria-labelledby="profile-h">
          <h2 id="profile-h">Profile</h2>
          <form className="stack" onSubmit={rename}>
            <label htmlFor="display-name">Display name</label>
            <div className="row">
              <input
                id="display-name"
                className="input grow"
                value={name}
                maxLength={60}
                onChange={(e) => setName(e.target.value)}
              />
              <button className="btn btn-primary" disabled={nameBusy || !name.trim() || name.trim() === user.name}>
                {nameBusy ? 'Saving…' : 'Save name'}
              </button>
            </div>
            {nameError && (
              <p className="alert alert-error" role="alert">
                {nameError}
              </p>
            )}
            <p className="muted small">Others see this name on your cursor, in chat and in member lists.</p>
          </form>
        </section>

        {authConfig?.sso && (
          <section className="card stack" aria-labelledby="sso-h">
            <h2 id="sso-h">Single sign-on</h2>
            {ssoLinked ? (
              <p data-testid="sso-linked">
                This account is linked to {authConfig.sso.label}: sign in with {authConfig.sso.label} on any device.
              </p>
            ) : (
              <>
                <p className="muted small">
                  Link this account to your {authConfig.sso.label} identity, then sign in with {authConfig.sso.label} on
                  any device{authConfig.names ? '' : ' (the only way into this server)'}.
                </p>
                <SsoButton label={authConfig.sso.label} next="/settings" link />
              </>
            )}
          </section>
        )}

        <section className="card stack" aria-labelledby="appearance-h">
          <h2 id="appearance-h">Appearance</h2>
          <div className="row" role="radiogroup" aria-label="Theme">
            {(['dark', 'light'] as const).map((t) => (
              <button
                key={t}
                role="radio"
                aria-checked={theme === t}
                className={`btn${theme === t ? ' btn-primary' : ''}`}
                onClick={() => setTheme(t)}
              >
                {t === 'dark' ? 'Dark' : 'Light'}
              </button>
            ))}
          </div>
        </section>

        <section className="card stack" aria-labelledby="editor-h">
          <h2 id="editor-h">Editor</h2>
          <EditorPrefsForm />
          <p className="muted small">Saved in this browser for your account, and applied at once to your open pads.</p>
        </section>

        <section className="card stack" aria-labelledby="signin-h">
          <h2 id="signin-h">Signing in</h2>
          {authConfig && !authConfig.names ? (
            <p className="muted">You sign in with {authConfig.sso?.label}, on any browser.</p>
          ) : (
            <p className="muted">
              There's no email or password. Your recovery key signs you back in on any browser. If you lost it, or think
              someone else has it, make a new one — the old key stops working at once.
            </p>
          )}
          <div className="row wrap">
            {(!authConfig || authConfig.names) && (
              <button className="btn" onClick={() => setConfirmRotate(true)}>
                Make a new recovery key
              </button>
            )}
            <button className="btn" onClick={() => setSigningOut(true)}>
              Sign out
            </button>
            <button className="btn" onClick={() => setConfirmLogoutAll(true)}>
              Sign out everywhere
            </button>
          </div>
        </section>

        <section className="card stack danger-zone" aria-labelledby="danger-h">
          <h2 id="danger-h">Delete account</h2>
          <p>
            Deletes your account and every pad you own, for everyone in them. Pads you only joined stay with their
            owners. This can't be undone.
          </p>
          <label htmlFor="delete-confirm">
            Type <code>DELETE</code> to confirm
          </label>
          <div className="row">
            <input
              id="delete-confirm"
              className="input"
              value={deleteText}
              autoComplete="off"
              onChange={(e) => setDeleteText(e.target.value)}
            />
            <button className="btn btn-danger" disabled={deleteText !== 'DELETE'} onClick={() => setConfirmDelete(true)}>
              Delete my account
            </button>
          </div>
        </section>
      </main>

      {confirmRotate && (
        <ConfirmDialog
          title="Make a new recovery key?"
          confirmLabel="Make new key"
          busy={rotateBusy}
          error={rotateError}
          onCancel={() => setConfirmRotate(false)}
          onConfirm={async () => {
            setRotateBusy(true);
            setRotateError(null);
            try {
              const res = await api.auth.rotateRecoveryKey();
              // Rotation signs out every other session; this one continues on the fresh token.
              session.signedIn(res.token, res.user);
              setConfirmRotate(false);
              setNewKey(res.recoveryKey);
            } catch (err) {
              setRotateError(describeError(err));
            } finally {
              setRotateBusy(false);
            }
          }}
        >
          <p>Your current recovery key will stop working immediately.</p>
        </ConfirmDialog>
      )}
      {newKey && (
        <Modal title="New recovery key" onClose={() => setNewKey(null)} locked>
          <RecoveryKeyPanel recoveryKey={newKey} userName={user.name} onDone={() => setNewKey(null)} doneLabel="Done" />
        </Modal>
      )}
      {signingOut && <SignOutDialog onClose={() => setSigningOut(false)} />}
      {confirmLogoutAll && (
        <ConfirmDialog
          title="Sign out everywhere?"
          confirmLabel="Sign out everywhere"
          busy={logoutAllBusy}
          error={logoutAllError}
          onCancel={() => setConfirmLogoutAll(false)}
          onConfirm={async () => {
            setLogoutAllBusy(true);
            setLogoutAllError(null);
            try {
              await api.auth.logoutAll();
              session.clear('signedOut');
              navigate('/');
            } catch (err) {
              setLogoutAllError(describeError(err));
              setLogoutAllBusy(false);
            }
          }}
        >
          <p>Every browser signed in to this account — including this one — is signed out. Use your recovery key to sign back in.</p>
        </ConfirmDialog>
      )}
      {confirmDelete && (
        <ConfirmDialog
          title="Delete your account?"
          confirmLabel="Delete forever"
          danger
          busy={deleteBusy}
          error={deleteError}
          onCancel={() => setConfirmDelete(false)}
          onConfirm={async () => {
            setDeleteBusy(true);
            setDeleteError(null);
            try {
              await api.auth.deleteAccount();
              session.clear('deleted');
              navigate('/');
            } catch (err) {
              setDeleteError(describeError(err));
              setDeleteBusy(false);
            }
          }}
        >
          <p>
            <strong>{user.name}</strong> and every pad you own will be deleted.
          </p>
        </ConfirmDialog>
      )}
    </>
  );
}
