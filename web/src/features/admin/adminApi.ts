// Typed wrappers of `/api/admin/*` (server: `admin::routes`). Every call answers 403 `admin_only`
// unless the signed-in account is an operator right now.
import { client } from '../../api';

const seg = (s: string | number) => encodeURIComponent(String(s));

export type SignupMode = 'open' | 'closed' | 'invite-only';
export const SIGNUP_MODES: SignupMode[] = ['open', 'closed', 'invite-only'];

export interface Page<T> {
  items: T[];
  total: number;
}

export interface AdminUserRow {
  id: number;
  name: string;
  createdAt: string;
  padsOwned: number;
  isAdmin: boolean;
  disabled: boolean;
}

export interface AdminPadRow {
  id: number;
  slug: string;
  title: string;
  kind: string;
  ownerId: number;
  ownerName: string;
  documentBytes: number;
  historyBytes: number;
  lastEditAtMs: number | null;
  updatedAt: string;
}

export interface Sandboxes {
  /** The nodes that answered, the one serving this page first. */
  nodes: string[];
  runs: { runId: string; pad: number; kind: string; startedAtMs: number; slug: string; title: string; node: string }[];
  terminals: { pad: number; slug: string; title: string; node: string }[];
}

export interface Storage {
  databaseBytes: number;
  recordingsBytes: number;
  largestPads: AdminPadRow[];
  runnerImage: boolean;
}

export interface AuditRowView {
  id: number;
  at: string;
  user_id: number | null;
  action: string;
  target: string | null;
  ip: string | null;
  user_agent: string | null;
  meta: unknown;
}

export interface AuditFilters {
  action?: string;
  user?: string;
  pad?: string;
  since?: string;
  until?: string;
}

export interface ChainStatus {
  rows: number;
  head: string;
  intact: boolean;
  brokenId: number | null;
  brokenReason: string | null;
}

/** Rows per page the admin page asks for (the server allows up to 200). */
export const PAGE_SIZE = 50;

export const adminApi = {
  users: (search: string, offset: number) =>
    client.request<Page<AdminUserRow>>('GET', '/api/admin/users', { query: { search, offset, limit: PAGE_SIZE } }),
  renameUser: (id: number, name: string) =>
    client.request<AdminUserRow>('PATCH', `/api/admin/users/${seg(id)}`, { body: { name } }),
  disableUser: (id: number) => client.request<AdminUserRow>('POST', `/api/admin/users/${seg(id)}/disable`),
  enableUser: (id: number) => client.request<AdminUserRow>('POST', `/api/admin/users/${seg(id)}/enable`),
  endSessions: (id: number) => client.request<{ ok: boolean }>('POST', `/api/admin/users/${seg(id)}/logout-all`),
  deleteUser: (id: number) => client.request<{ ok: boolean }>('DELETE', `/api/admin/users/${seg(id)}`),
  pads: (search: string, offset: number) =>
    client.request<Page<AdminPadRow>>('GET', '/api/admin/pads', { query: { search, offset, limit: PAGE_SIZE } }),
  deletePad: (slug: string) => client.request<{ ok: boolean }>('DELETE', `/api/admin/pads/${seg(slug)}`),
  sandboxes: () => client.request<Sandboxes>('GET', '/api/admin/sandboxes'),
  stopRun: (runId: string) => client.request<unknown>('POST', `/api/admin/runs/${seg(runId)}/stop`),
  stopTerminal: (slug: string) => client.request<unknown>('POST', `/api/admin/terminals/${seg(slug)}/stop`),
  signup: () => client.request<{ mode: SignupMode }>('GET', '/api/admin/signup'),
  setSignup: (mode: SignupMode) => client.request<{ mode: SignupMode }>('PUT', '/api/admin/signup', { body: { mode } }),
  storage: () => client.request<Storage>('GET', '/api/admin/storage'),
  audit: (filters: AuditFilters, before: number | null) =>
    client.request<{ rows: AuditRowView[]; hasMore: boolean }>('GET', '/api/admin/audit', {
      query: {
        action: filters.action || undefined,
        user: filters.user || undefined,
        pad: filters.pad || undefined,
        since: filters.since ? new Date(filters.since).toISOString() : undefined,
        until: filters.until ? new Date(filters.until).toISOString() : undefined,
        before: before ?? undefined,
        limit: PAGE_SIZE,
      },
    }),
  verifyAudit: () => client.request<ChainStatus>('GET', '/api/admin/audit/verify'),
};

/** Bytes as people read them (1 KiB = 1024 bytes). */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}
