import { useState, type FormEvent } from 'react';
import { api, describeError, GRANTABLE_ROLES, type Invite, type Role } from '../../api';
import { copyText } from '../../ui/clipboard';
import { ErrorMessage, Spinner, timeAgo, useLoad } from '../../ui/common';
import { Modal } from '../../ui/Modal';
import { useStore } from '../../ui/store';
import { toast } from '../../ui/toast';
import type { PadSession } from '../pad/padSession';

const EXPIRY_CHOICES: [number, string][] = [
  [1, '1 hour'],
  [24, '1 day'],
  [168, '7 days'],
  [720, '30 days'],
];
const USES_CHOICES: [number | null, string][] = [
  [null, 'Unlimited'],
  [1, '1 use'],
  [5, '5 uses'],
  [10, '10 uses'],
  [50, '50 uses'],
];

export function inviteUrl(invite: Invite, origin = window.location.origin): string {
  if (invite.url) return invite.url;
  return `${origin}/invite/${invite.token ?? ''}`;
}

function expiresIn(iso: string): string {
  const ms = Date.parse(iso) - Date.now();
  if (Number.isNaN(ms)) return '';
  if (ms <= 0) return 'expired';
  const h = ms / 3_600_000;
  if (h < 1) return `expires in ${Math.max(1, Math.round(ms / 60_000))} min`;
  if (h < 48) return `expires in ${Math.round(h)} h`;
  return `expires in ${Math.round(h / 24)} days`;
}

function CopyField(props: { value: string; label: string }) {
  const [copied, setCopied] = useState(false);
  return (
    <div className="row">
      <input className="input grow mono small" readOnly value={props.value} aria-label={props.label} onFocus={(e) => e.target.select()} />
      <button
        className="btn btn-small"
        type="button"
        onClick={async () => {
          const ok = await copyText(props.value);
          setCopied(ok);
          toast(ok ? 'Link copied' : "Couldn't copy — select the link and copy it by hand.", ok ? 'success' : 'error');
          if (ok) setTimeout(() => setCopied(false), 2000);
        }}
      >
        {copied ? 'Copied ✓' : 'Copy'}
      </button>
    </div>
  );
}

function InvitesSection(props: { slug: string }) {
  const invites = useLoad(() => api.invites.list(props.slug).then((r) => r.invites ?? []), [props.slug]);
  const [role, setRole] = useState<Role>('collaborator');
  const [hours, setHours] = useState(168);
  const [uses, setUses] = useState<number | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [fresh, setFresh] = useState<Invite | null>(null);
  const [revoking, setRevoking] = useState<number | null>(null);

  const create = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const { invite } = await api.invites.create(props.slug, { role, expiresInHours: hours, maxUses: uses ?? undefined });
      setFresh(invite);
      invites.setData((prev) => [invite, ...(prev ?? [])]);
      const ok = await copyText(inviteUrl(invite));
      if (ok) toast('Invite link created and copied', 'success');
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="stack" aria-labelledby="invites-h">
      <h3 id="invites-h">Invite links</h3>
      <form className="invite-form" onSubmit={create}>
        <label>
          <span>Role</span>
          <select className="input" value={role} onChange={(e) => setRole(e.target.value as Role)} aria-label="Invite role">
            {GRANTABLE_ROLES.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
        </label>
        <label>
          <span>Expires after</span>
          <select className="input" value={hours} onChange={(e) => setHours(Number(e.target.value))} aria-label="Invite expiry">
            {EXPIRY_CHOICES.map(([h, label]) => (
              <option key={h} value={h}>
                {label}
              </option>
            ))}
          </select>
        </label>
        <label>
          <span>Uses</span>
          <select
            className="input"
            value={uses == null ? '' : String(uses)}
            onChange={(e) => setUses(e.target.value === '' ? null : Number(e.target.value))}
            aria-label="Invite uses"
          >
            {USES_CHOICES.map(([n, label]) => (
              <option key={label} value={n == null ? '' : String(n)}>
                {label}
              </option>
            ))}
          </select>
        </label>
        <button className="btn btn-primary" type="submit" disabled={busy}>
          {busy ? 'Creating…' : 'Create link'}
        </button>
      </form>
      {error && (
        <p className="alert alert-error" role="alert">
          {error}
        </p>
      )}
      {fresh && (
        <div className="fresh-invite stack">
          <span className="small">
            New <strong>{fresh.role}</strong> link — send it to the people you want to invite:
          </span>
          <CopyField value={inviteUrl(fresh)} label="New invite link" />
        </div>
      )}
      {invites.loading && !invites.data ? (
        <Spinner label="Loading invites…" />
      ) : invites.error ? (
        <ErrorMessage error={invites.error} title="Couldn't load invites." onRetry={invites.reload} />
      ) : invites.data && invites.data.length > 0 ? (
        <ul className="invite-list">
          {invites.data.map((inv) => (
            <li key={inv.id} className="invite-row" data-testid="invite-row">
              <div className="row between wrap">
                <span>
                  <span className={`chip chip-role-${inv.role}`}>{inv.role}</span>{' '}
                  <span className="small muted">
                    {expiresIn(inv.expiresAt)} · used {inv.uses}
                    {inv.maxUses != null ? ` of ${inv.maxUses}` : ''} · created {timeAgo(inv.createdAt)}
                  </span>
                </span>
                <button
                  className="btn btn-small btn-danger-ghost"
                  disabled={revoking === inv.id}
                  onClick={async () => {
                    setRevoking(inv.id);
                    try {
                      await api.invites.revoke(props.slug, inv.id);
                      invites.setData((prev) => (prev ?? []).filter((x) => x.id !== inv.id));
                      if (fresh?.id === inv.id) setFresh(null);
                      toast('Invite revoked', 'success');
                    } catch (err) {
                      toast(`Couldn't revoke: ${describeError(err)}`, 'error');
                    } finally {
                      setRevoking(null);
                    }
                  }}
                >
                  Revoke
                </button>
              </div>
              {(inv.url || inv.token) && <CopyField value={inviteUrl(inv)} label={`Invite link (${inv.role})`} />}
            </li>
          ))}
        </ul>
      ) : (
        <p className="muted small">No active invite links.</p>
      )}
    </section>
  );
}

function PasswordSection(props: { session: PadSession }) {
  const { session } = props;
  const hasPassword = useStore(session.store, (s) => s.pad.hasPassword);
  const passwordRole = useStore(session.store, (s) => s.pad.passwordRole);
  const [password, setPassword] = useState('');
  const [role, setRole] = useState<Role>((passwordRole as Role) || 'collaborator');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const apply = (pad: unknown, fallback: { hasPassword: boolean; passwordRole: Role | null }) => {
    const p = (pad as { pad?: object })?.pad;
    session.store.set((s) => ({ pad: { ...s.pad, ...fallback, ...(p ?? {}) } }));
  };

  return (
    <section className="stack" aria-labelledby="password-h">
      <h3 id="password-h">Password</h3>
      <p className="small muted">
        {hasPassword ? (
          <>
            <strong>On.</strong> Anyone with the pad's link and the password joins as <strong>{passwordRole ?? 'member'}</strong>.
          </>
        ) : (
          'Off. Set one to let anyone with the link and the password join with the role you pick.'
        )}
      </p>
      <form
        className="invite-form"
        onSubmit={async (e) => {
          e.preventDefault();
          if (!password) return;
          setBusy(true);
          setError(null);
          try {
            const res = await api.pads.setPassword(session.slug, password, role);
            apply(res, { hasPassword: true, passwordRole: role });
            setPassword('');
            toast('Password set', 'success');
          } catch (err) {
            setError(describeError(err));
          } finally {
            setBusy(false);
          }
        }}
      >
        <label>
          <span>{hasPassword ? 'New password' : 'Password'}</span>
          <input
            className="input"
            type="password"
            autoComplete="new-password"
            value={password}
            maxLength={200}
            onChange={(e) => setPassword(e.target.value)}
            aria-label="Pad password"
          />
        </label>
        <label>
          <span>Grants</span>
          <select className="input" value={role} onChange={(e) => setRole(e.target.value as Role)} aria-label="Role the password grants">
            {GRANTABLE_ROLES.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
        </label>
        <button className="btn btn-primary" type="submit" disabled={busy || !password}>
          {hasPassword ? 'Change' : 'Set password'}
        </button>
        {hasPassword && (
          <button
            className="btn btn-danger-ghost"
            type="button"
            disabled={busy}
            onClick={async () => {
              setBusy(true);
              setError(null);
              try {
                const res = await api.pads.clearPassword(session.slug);
                apply(res, { hasPassword: false, passwordRole: null });
                toast('Password removed', 'success');
              } catch (err) {
                setError(describeError(err));
              } finally {
                setBusy(false);
              }
            }}
          >
            Remove
          </button>
        )}
      </form>
      {error && (
        <p className="alert alert-error" role="alert">
          {error}
        </p>
      )}
      <div className="stack">
        <span className="small muted">The pad's link (useful with a password):</span>
        <CopyField value={`${window.location.origin}/p/${session.slug}`} label="Pad link" />
      </div>
    </section>
  );
}

export function ShareDialog(props: { session: PadSession; onClose: () => void }) {
  return (
    <Modal title="Share this pad" onClose={props.onClose} wide>
      <div className="stack-lg">
        <InvitesSection slug={props.session.slug} />
        <hr className="sep" />
        <PasswordSection session={props.session} />
      </div>
    </Modal>
  );
}
