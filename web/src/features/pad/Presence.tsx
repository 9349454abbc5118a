import { useMemo } from 'react';
import { Avatar } from '../../ui/common';
import { useStore } from '../../ui/store';
import { useUser } from '../auth/session';
import type { PadSession } from './padSession';

const LABELS: Record<string, string> = {
  connecting: 'connecting…',
  syncing: 'syncing…',
  live: 'live',
  reconnecting: 'reconnecting…',
  offline: 'offline',
  closed: 'disconnected',
};

export function ConnectionChip(props: { session: PadSession }) {
  const status = useStore(props.session.store, (s) => s.status);
  const rtt = useStore(props.session.store, (s) => s.rttMs);
  const label = LABELS[status] ?? status;
  const aria = status === 'live' ? `collab live${rtt != null ? ` · round-trip ${rtt} ms` : ''}` : `collab ${label}`;
  return (
    <span className={`conn conn-${status}`} role="status" aria-label={aria} title={aria} data-testid="connection" data-status={status}>
      <span className="conn-dot" aria-hidden="true" />
      <span>
        {label}
        {status === 'live' && rtt != null ? ` · ${rtt} ms` : ''}
      </span>
    </span>
  );
}

/** One bubble per person here (tabs collapsed), you first. */
export function PresenceAvatars(props: { session: PadSession }) {
  const presence = useStore(props.session.store, (s) => s.presence);
  const peers = useStore(props.session.store, (s) => s.peers);
  const me = useUser();
  const people = useMemo(() => {
    const byUser = new Map<number, { userId: number; name: string }>();
    for (const p of presence) byUser.set(p.userId, { userId: p.userId, name: p.name });
    for (const p of peers) if (p.userId != null && !byUser.has(p.userId) && !p.self) byUser.set(p.userId, { userId: p.userId, name: p.name });
    const list = Array.from(byUser.values());
    list.sort((a, b) => (a.userId === me?.id ? -1 : b.userId === me?.id ? 1 : a.name.localeCompare(b.name)));
    return list;
  }, [presence, peers, me?.id]);
  if (people.length === 0) return null;
  const shown = people.slice(0, 4);
  const extra = people.length - shown.length;
  const names = people.map((p) => (p.userId === me?.id ? `${p.name} (you)` : p.name)).join(', ');
  return (
    <div className="avatars" title={`Here now: ${names}`} aria-label={`${people.length} ${people.length === 1 ? 'person' : 'people'} here: ${names}`} data-testid="presence">
      {shown.map((p) => (
        <Avatar key={p.userId} name={p.name} userId={p.userId} size={26} title={p.userId === me?.id ? `${p.name} (you)` : p.name} />
      ))}
      {extra > 0 && <span className="avatar avatar-more">+{extra}</span>}
    </div>
  );
}
