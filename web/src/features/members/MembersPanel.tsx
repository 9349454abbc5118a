import { useCallback, useEffect, useMemo, useState } from 'react';
import { useNavigate } from 'react-router-dom';
import { api, can, describeError, GRANTABLE_ROLES, ROLE_RANK, type Member, type Removal, type Role } from '../../api';
import { Avatar } from '../../ui/common';
import { ConfirmDialog } from '../../ui/Modal';
import { useStore } from '../../ui/store';
import { toast } from '../../ui/toast';
import { useUser } from '../auth/session';
import type { PadSession } from '../pad/padSession';

const ROLE_HELP: Record<Role, string> = {
  owner: 'Owns the pad: manages sharing, roles and deletion',
  collaborator: 'Edits, runs, forks, chats',
  candidate: 'Edits, runs and chats; cannot fork (interviews)',
  viewer: 'Watches, chats and forks; cannot edit or run',
};

function RoleSelect(props: { member: Member; slug: string; onChanged: (role: Role) => void }) {
  const [busy, setBusy] = useState(false);
  return (
    <select
      className="input input-small"
      aria-label={`Role of ${props.member.name}`}
      value={props.member.role}
      disabled={busy}
      onChange={async (e) => {
        const role = e.target.value as Role;
        setBusy(true);
        try {
          await api.members.setRole(props.slug, props.member.userId, role);
          props.onChanged(role);
          toast(`${props.member.name} is now ${role === 'viewer' ? 'a viewer' : `a ${role}`}.`, 'success');
        } catch (err) {
          toast(`Couldn't change ${props.member.name}'s role: ${describeError(err)}`, 'error');
        } finally {
          setBusy(false);
        }
      }}
    >
      {GRANTABLE_ROLES.map((r) => (
        <option key={r} value={r}>
          {r}
        </option>
      ))}
    </select>
  );
}

/** The owner's list of people they removed, each with a way back in. */
function RemovedList(props: { slug: string; removed: Removal[]; onReadmitted: (userId: number) => void }) {
  const [busy, setBusy] = useState<number | null>(null);
  if (props.removed.length === 0) return null;
  return (
    <div className="removed-people" data-testid="removed-people">
      <h3 className="small muted">Removed</h3>
      <p className="small muted">They can't rejoin through an invite link or the password until you re-admit them.</p>
      <ul className="member-list">
        {props.removed.map((r) => (
          <li key={r.userId} className="member" data-testid="removed-member">
            <Avatar name={r.name} userId={r.userId} size={24} />
            <div className="grow member-name">{r.name}</div>
            <button
              className="btn btn-small"
              disabled={busy === r.userId}
              onClick={async () => {
                setBusy(r.userId);
                try {
                  await api.members.readmit(props.slug, r.userId);
                  props.onReadmitted(r.userId);
                  toast(`${r.name} can rejoin with an invite link or the password.`, 'success');
                } catch (err) {
                  toast(`Couldn't re-admit ${r.name}: ${describeError(err)}`, 'error');
                } finally {
                  setBusy(null);
                }
              }}
            >
              Re-admit
            </button>
          </li>
        ))}
      </ul>
    </div>
  );
}

export function MembersPanel(props: { session: PadSession }) {
  const { session } = props;
  const me = useUser();
  const navigate = useNavigate();
  const members = useStore(session.store, (s) => s.members);
  const presence = useStore(session.store, (s) => s.presence);
  const role = useStore(session.store, (s) => s.role);
  const [toKick, setToKick] = useState<Member | null>(null);
  const [leaving, setLeaving] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const owner = can.manage(role);
  const [removed, setRemoved] = useState<Removal[]>([]);
  const loadRemoved = useCallback(async () => {
    try {
      setRemoved((await api.members.removed(session.slug)).removed);
    } catch (err) {
      toast(`Couldn't load removed people: ${describeError(err)}`, 'error');
    }
  }, [session.slug]);
  useEffect(() => {
    if (owner) void loadRemoved();
  }, [owner, loadRemoved]);

  const online = useMemo(() => new Set(presence.map((p) => p.userId)), [presence]);
  const sorted = useMemo(
    () =>
      [...members].sort(
        (a, b) => ROLE_RANK[b.role as Role] - ROLE_RANK[a.role as Role] || Number(online.has(b.userId)) - Number(online.has(a.userId)) || a.name.localeCompare(b.name),
      ),
    [members, online],
  );

  const update = (userId: number, roleNext: Role | null) =>
    session.store.set((s) => ({
      members: roleNext ? s.members.map((m) => (m.userId === userId ? { ...m, role: roleNext } : m)) : s.members.filter((m) => m.userId !== userId),
    }));

  return (
    <div className="members-panel">
      <div className="panel-head">
        <h2>
          People <span className="muted">({members.length})</span>
        </h2>
      </div>
      <ul className="member-list">
        {sorted.map((m) => {
          const isMe = m.userId === me?.id;
          return (
            <li key={m.userId} className="member" data-testid="member">
              <Avatar name={m.name} userId={m.userId} size={28} />
              <div className="grow">
                <div className="member-name">
                  {m.name}
                  {isMe && <span className="muted"> (you)</span>}
                </div>
                <div className="small muted">
                  <span className={`presence-dot${online.has(m.userId) ? ' on' : ''}`} aria-hidden="true" />
                  {online.has(m.userId) ? 'here now' : 'away'} · <span title={ROLE_HELP[m.role as Role]}>{m.role}</span>
                </div>
              </div>
              {owner && !isMe && m.role !== 'owner' && (
                <div className="row">
                  <RoleSelect member={m} slug={session.slug} onChanged={(r) => update(m.userId, r)} />
                  <button
                    className="btn btn-small btn-danger-ghost"
                    onClick={() => {
                      setError(null);
                      setToKick(m);
                    }}
                  >
                    Remove
                  </button>
                </div>
              )}
            </li>
          );
        })}
      </ul>
      {!owner && (
        <div className="panel-foot">
          <button className="btn btn-small btn-danger-ghost" onClick={() => setLeaving(true)}>
            Leave pad
          </button>
        </div>
      )}
      {owner && (
        <RemovedList
          slug={session.slug}
          removed={removed}
          onReadmitted={(userId) => setRemoved((list) => list.filter((r) => r.userId !== userId))}
        />
      )}
      {owner && <p className="muted small panel-foot">Use Share to invite people or set a password.</p>}
      {toKick && (
        <ConfirmDialog
          title={`Remove ${toKick.name}?`}
          confirmLabel="Remove"
          danger
          busy={busy}
          error={error}
          onCancel={() => setToKick(null)}
          onConfirm={async () => {
            setBusy(true);
            setError(null);
            try {
              await api.members.kick(session.slug, toKick.userId);
              update(toKick.userId, null);
              void loadRemoved();
              toast(`${toKick.name} was removed.`, 'success');
              setToKick(null);
            } catch (err) {
              setError(describeError(err));
            } finally {
              setBusy(false);
            }
          }}
        >
          <p>
            {toKick.name} loses access at once and is disconnected. They can't come back through an invite link or the
            password until you re-admit them.
          </p>
        </ConfirmDialog>
      )}
      {leaving && (
        <ConfirmDialog
          title="Leave this pad?"
          confirmLabel="Leave"
          danger
          busy={busy}
          error={error}
          onCancel={() => setLeaving(false)}
          onConfirm={async () => {
            setBusy(true);
            setError(null);
            try {
              session.expectClose = true;
              await api.pads.leave(session.slug);
              toast('You left the pad.', 'success');
              navigate('/dashboard', { replace: true });
            } catch (err) {
              session.expectClose = false;
              setError(describeError(err));
              setBusy(false);
            }
          }}
        >
          <p>You'll need a new invite to come back.</p>
        </ConfirmDialog>
      )}
    </div>
  );
}
