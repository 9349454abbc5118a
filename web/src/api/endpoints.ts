// Typed wrappers, one per endpoint in the server's OpenAPI (`GET /api/openapi.json`).
import type { ApiClient } from './client';
import type {
  AuthConfig,
  ChatMessage,
  Health,
  Invite,
  InvitePreview,
  Language,
  Member,
  Removal,
  Pad,
  PadDetail,
  PadFile,
  PadKind,
  PadPreview,
  PadSummary,
  RecordingList,
  RecordingState,
  RecordingView,
  Role,
  RunLimits,
  RunRequest,
  StoredRun,
  SessionResponse,
  SignupResponse,
  TimelinePage,
  User,
} from './types';

const seg = (s: string | number) => encodeURIComponent(String(s));

export function endpoints(c: ApiClient) {
  return {
    health: () => c.request<Health>('GET', '/api/health'),

    auth: {
      /** `invite`: the token of the invite being followed (required while sign-up is invite-only). */
      signup: (name: string, invite?: string) =>
        c.request<SignupResponse>('POST', '/api/auth/guest', { body: { name, invite }, quiet401: true }),
      recover: (recoveryKey: string) =>
        c.request<SessionResponse>('POST', '/api/auth/recover', { body: { recoveryKey }, quiet401: true }),
      /** `user: null` when the request carried no credentials at all (a visitor). */
      me: () => c.request<{ user: User | null }>('GET', '/api/auth/me', { quiet401: true }),
      rename: (name: string) => c.request<{ user: User }>('PATCH', '/api/auth/me', { body: { name } }),
      deleteAccount: () => c.request<{ ok: boolean }>('DELETE', '/api/auth/me', { body: { confirm: 'DELETE' } }),
      /** `redirect`: the identity provider's logout, after a single sign-on (send the browser there). */
      logout: () => c.request<{ ok: boolean; redirect?: string }>('POST', '/api/auth/logout', { quiet401: true }),
      /** Which ways in the server offers: name-only accounts, single sign-on (its button label). */
      config: () => c.request<AuthConfig>('GET', '/api/auth/config'),
      /** Start a single sign-on; send the browser to `url`. `link`: link the signed-in account instead. */
      ssoStart: (body: { invite?: string; link?: boolean }) =>
        c.request<{ url: string }>('POST', '/api/auth/oidc/start', { body }),
      /** Whether the signed-in account is linked to an identity at the provider. */
      ssoLinked: () => c.request<{ linked: boolean }>('GET', '/api/auth/oidc/link'),
      logoutAll: () => c.request<{ ok: boolean }>('POST', '/api/auth/logout-all'),
      rotateRecoveryKey: () => c.request<SignupResponse>('POST', '/api/auth/recovery-key'),
    },

    languages: () => c.request<{ languages: Language[] }>('GET', '/api/languages'),

    pads: {
      list: () => c.request<{ pads: PadSummary[] }>('GET', '/api/pads'),
      create: (body: { title?: string; language?: string; kind?: PadKind }) =>
        c.request<PadDetail>('POST', '/api/pads', { body }),
      get: (slug: string) => c.request<PadDetail>('GET', `/api/pads/${seg(slug)}`),
      update: (slug: string, body: { title?: string; language?: string; kind?: PadKind }) =>
        c.request<{ pad: Pad }>('PATCH', `/api/pads/${seg(slug)}`, { body }),
      remove: (slug: string) => c.request<unknown>('DELETE', `/api/pads/${seg(slug)}`),
      fork: (slug: string) => c.request<PadDetail>('POST', `/api/pads/${seg(slug)}/fork`),
      preview: (slug: string) => c.request<PadPreview>('GET', `/api/pads/${seg(slug)}/preview`),
      setPassword: (slug: string, password: string, role: Role) =>
        c.request<unknown>('PUT', `/api/pads/${seg(slug)}/password`, { body: { password, role } }),
      clearPassword: (slug: string) => c.request<unknown>('DELETE', `/api/pads/${seg(slug)}/password`),
      unlock: (slug: string, password: string) =>
        c.request<{ role: Role }>('POST', `/api/pads/${seg(slug)}/unlock`, { body: { password } }),
      leave: (slug: string) => c.request<unknown>('POST', `/api/pads/${seg(slug)}/leave`),
    },

    files: {
      list: (slug: string) => c.request<{ files: PadFile[] }>('GET', `/api/pads/${seg(slug)}/files`),
      create: (slug: string, body: { name: string; language?: string; content?: string }) =>
        c.request<{ file: PadFile }>('POST', `/api/pads/${seg(slug)}/files`, { body }),
      update: (slug: string, fileId: number, body: { name?: string; language?: string }) =>
        c.request<{ file: PadFile }>('PATCH', `/api/pads/${seg(slug)}/files/${seg(fileId)}`, { body }),
      remove: (slug: string, fileId: number) =>
        c.request<unknown>('DELETE', `/api/pads/${seg(slug)}/files/${seg(fileId)}`),
    },

    members: {
      list: (slug: string) => c.request<{ members: Member[] }>('GET', `/api/pads/${seg(slug)}/members`),
      setRole: (slug: string, userId: number, role: Role) =>
        c.request<unknown>('PATCH', `/api/pads/${seg(slug)}/members/${seg(userId)}`, { body: { role } }),
      kick: (slug: string, userId: number) =>
        c.request<unknown>('DELETE', `/api/pads/${seg(slug)}/members/${seg(userId)}`),
      removed: (slug: string) => c.request<{ removed: Removal[] }>('GET', `/api/pads/${seg(slug)}/removed`),
      readmit: (slug: string, userId: number) =>
        c.request<unknown>('DELETE', `/api/pads/${seg(slug)}/removed/${seg(userId)}`),
    },

    invites: {
      list: (slug: string) => c.request<{ invites: Invite[] }>('GET', `/api/pads/${seg(slug)}/invites`),
      create: (slug: string, body: { role: Role; expiresInHours?: number; maxUses?: number | null }) =>
        c.request<{ invite: Invite }>('POST', `/api/pads/${seg(slug)}/invites`, { body }),
      revoke: (slug: string, id: number) => c.request<unknown>('DELETE', `/api/pads/${seg(slug)}/invites/${seg(id)}`),
      preview: (token: string) => c.request<InvitePreview>('GET', `/api/invites/${seg(token)}`),
      accept: (token: string) =>
        c.request<{ slug?: string; padSlug?: string; role?: Role }>('POST', `/api/invites/${seg(token)}/accept`),
    },

    chat: {
      history: (slug: string, before?: string | number, limit = 50) =>
        c.request<{ messages: ChatMessage[]; hasMore?: boolean }>('GET', `/api/pads/${seg(slug)}/chat`, { query: { before, limit } }),
    },

    runs: {
      start: (slug: string, body: RunRequest) =>
        c.request<{ runId: string }>('POST', `/api/pads/${seg(slug)}/runs`, { body }),
      stop: (slug: string, runId: string) =>
        c.request<{ runId: string; stopping: boolean }>('POST', `/api/pads/${seg(slug)}/runs/${seg(runId)}/stop`),
      last: (slug: string) =>
        c.request<{ run: StoredRun | null; limits: RunLimits; replLimits?: RunLimits }>('GET', `/api/pads/${seg(slug)}/runs/last`),
    },

    terminal: {
      restart: (slug: string) => c.request<{ state: string }>('POST', `/api/pads/${seg(slug)}/terminal/restart`),
      syncFiles: (slug: string) => c.request<{ files: number }>('POST', `/api/pads/${seg(slug)}/terminal/sync-files`),
    },

    recordings: {
      list: (slug: string, signal?: AbortSignal) =>
        c.request<RecordingList>('GET', `/api/pads/${seg(slug)}/recordings`, { signal }),
      start: (slug: string, name?: string) =>
        c.request<{ recording: RecordingView }>('POST', `/api/pads/${seg(slug)}/recordings`, { body: name ? { name } : {} }),
      stop: (slug: string, id: number) =>
        c.request<{ recording: RecordingView }>('POST', `/api/pads/${seg(slug)}/recordings/${seg(id)}/stop`),
      remove: (slug: string, id: number) => c.request<{ ok: boolean }>('DELETE', `/api/pads/${seg(slug)}/recordings/${seg(id)}`),
      timeline: (slug: string, id: number, after?: string, limit?: number, signal?: AbortSignal) =>
        c.request<TimelinePage>('GET', `/api/pads/${seg(slug)}/recordings/${seg(id)}/timeline`, { query: { after, limit }, signal }),
      state: (slug: string, id: number, t: number, signal?: AbortSignal) =>
        c.request<RecordingState>('GET', `/api/pads/${seg(slug)}/recordings/${seg(id)}/state`, { query: { t, yjs: true }, signal }),
      /** The JSON export as a file (fetched with the bearer token; never a token in a URL). */
      exportFile: (slug: string, id: number) => c.download(`/api/pads/${seg(slug)}/recordings/${seg(id)}/export`),
      setAutoRecord: (slug: string, autoRecord: boolean) =>
        c.request<{ autoRecord: boolean }>('PATCH', `/api/pads/${seg(slug)}/recording-settings`, { body: { autoRecord } }),
    },
  };
}

export type Endpoints = ReturnType<typeof endpoints>;
