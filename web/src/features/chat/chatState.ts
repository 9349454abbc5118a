// Chat as the client keeps it: the server's messages (history + live, de-duplicated, in order)
// plus this tab's pending sends, which become failures the user can retry instead of vanishing.
import type { ChatMessage } from '../../api/types';

export interface PendingChat {
  localId: number;
  body: string;
  sentAt: number;
  failed: string | null;
}

export const PENDING_TIMEOUT_MS = 10_000;

function key(m: ChatMessage): string {
  return String(m.id);
}

function compare(a: ChatMessage, b: ChatMessage): number {
  const ta = Date.parse(a.at);
  const tb = Date.parse(b.at);
  if (!Number.isNaN(ta) && !Number.isNaN(tb) && ta !== tb) return ta - tb;
  const na = Number(a.id);
  const nb = Number(b.id);
  if (Number.isFinite(na) && Number.isFinite(nb)) return na - nb;
  return key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0;
}

/** Merge messages into a list: de-duplicated by id, oldest first. */
export function mergeMessages(existing: ChatMessage[], incoming: ChatMessage[]): ChatMessage[] {
  if (incoming.length === 0) return existing;
  const seen = new Map(existing.map((m) => [key(m), m]));
  let changed = false;
  for (const m of incoming) {
    if (!seen.has(key(m))) {
      seen.set(key(m), m);
      changed = true;
    }
  }
  if (!changed) return existing;
  return Array.from(seen.values()).sort(compare);
}

/** A live message arrived: if it is ours, it confirms the oldest pending send with the same body. */
export function confirmPending(pending: PendingChat[], message: ChatMessage, myUserId: number | null): PendingChat[] {
  if (myUserId == null || message.userId !== myUserId) return pending;
  const i = pending.findIndex((p) => p.failed == null && p.body === message.body);
  if (i < 0) return pending;
  return pending.slice(0, i).concat(pending.slice(i + 1));
}

/** The server refused a chat message (rate limit, too long…): the oldest in-flight send failed. */
export function failOldestPending(pending: PendingChat[], reason: string): PendingChat[] {
  const i = pending.findIndex((p) => p.failed == null);
  if (i < 0) return pending;
  const copy = pending.slice();
  copy[i] = { ...copy[i], failed: reason };
  return copy;
}

/** Pending sends with no echo after the timeout are reported as failed. */
export function expirePending(pending: PendingChat[], now: number): PendingChat[] {
  let changed = false;
  const next = pending.map((p) => {
    if (p.failed == null && now - p.sentAt > PENDING_TIMEOUT_MS) {
      changed = true;
      return { ...p, failed: "The server didn't confirm this message." };
    }
    return p;
  });
  return changed ? next : pending;
}

/** Normalise a server chat payload (live or history) to a ChatMessage, or null if unusable. */
export function toChatMessage(raw: unknown): ChatMessage | null {
  if (!raw || typeof raw !== 'object') return null;
  const r = raw as Record<string, unknown>;
  const body = typeof r.body === 'string' ? r.body : null;
  const id = typeof r.id === 'number' || typeof r.id === 'string' ? r.id : null;
  if (body == null || id == null) return null;
  const userId = typeof r.userId === 'number' ? r.userId : Number(r.userId);
  const name = typeof r.name === 'string' ? r.name : typeof r.userName === 'string' ? r.userName : 'someone';
  const atRaw = r.at ?? r.createdAt;
  const at = typeof atRaw === 'number' ? new Date(atRaw).toISOString() : typeof atRaw === 'string' ? atRaw : new Date().toISOString();
  return { id, userId, name, body, at };
}
