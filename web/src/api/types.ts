// Shapes the server sends. Field names follow the server's camelCase JSON.

export type Role = 'owner' | 'collaborator' | 'candidate' | 'viewer';
export type PadKind = 'sandbox' | 'interview';

export const ROLE_RANK: Record<Role, number> = { owner: 4, collaborator: 3, candidate: 2, viewer: 1 };
export const GRANTABLE_ROLES: Role[] = ['collaborator', 'candidate', 'viewer'];

/** SPEC §3 capabilities, mirrored from the server's `Role` (the server still checks each one). */
export const can = {
  edit: (r: Role | null | undefined) => r === 'owner' || r === 'collaborator' || r === 'candidate',
  run: (r: Role | null | undefined) => r === 'owner' || r === 'collaborator' || r === 'candidate',
  fork: (r: Role | null | undefined) => r === 'owner' || r === 'collaborator' || r === 'viewer',
  manage: (r: Role | null | undefined) => r === 'owner',
  /** Start/stop recordings. */
  record: (r: Role | null | undefined) => r === 'owner' || r === 'collaborator',
  /** List, watch and export recordings (candidates may not: an interview candidate must not replay the interviewer's side). */
  watchPlayback: (r: Role | null | undefined) => r === 'owner' || r === 'collaborator' || r === 'viewer',
};

export interface User {
  id: number;
  name: string;
  createdAt: string;
  /** An operator of this server (granted only on the server machine): the admin page shows. */
  isAdmin?: boolean;
}

export interface SessionResponse {
  token: string;
  user: User;
}

export interface SignupResponse extends SessionResponse {
  recoveryKey: string;
}

export interface Pad {
  id: number;
  slug: string;
  title: string;
  language: string;
  kind: PadKind;
  ownerId: number;
  hasPassword: boolean;
  passwordRole?: Role | null;
  createdAt: string;
  updatedAt: string;
}

export interface PadSummary extends Pad {
  myRole: Role;
  ownerName?: string;
}

export interface PadFile {
  id: number;
  name: string;
  language: string;
  sortOrder?: number;
  createdAt?: string;
  updatedAt?: string;
}

export interface Member {
  userId: number;
  name: string;
  role: Role;
  joinedAt?: string;
}

/** Someone the owner removed: invites and the password let them back in only after a re-admit. */
export interface Removal {
  userId: number;
  name: string;
  removedAt: string;
}

export interface PadDetail {
  pad: Pad;
  files: PadFile[];
  members: Member[];
  myRole: Role;
}

export interface PadPreview {
  slug: string;
  title: string;
  kind?: PadKind;
  hasPassword: boolean;
}

export interface Invite {
  id: number;
  token?: string;
  url?: string;
  role: Role;
  createdAt: string;
  expiresAt: string;
  maxUses: number | null;
  uses: number;
  revokedAt?: string | null;
}

export interface InvitePreview {
  padSlug?: string;
  slug?: string;
  padTitle?: string;
  title?: string;
  role: Role;
  expiresAt?: string;
}

export interface ChatMessage {
  id: number | string;
  userId: number;
  name: string;
  body: string;
  at: string;
}

export interface Language {
  id: string;
  name: string;
  extensions?: string[];
  editorMode?: string;
  defaultFile?: string;
  /** Starter code for a new file of this language. */
  template?: string;
  /** A REPL can be opened after a run (`RunRequest.repl`). */
  repl?: boolean;
  /** Runs function test cases (the server has a harness for it). */
  functionTests?: boolean;
}

export interface RunRequest {
  entry?: string;
  language?: string;
  stdin?: string;
  /** After `stdin`, the program reads console input (`run.stdin` messages) until `run.eof`. */
  interactive?: boolean;
  timeoutMs?: number;
  /** A REPL session with the entry loaded, instead of a run (always interactive). */
  repl?: boolean;
}

/** A program run, or a REPL session after one. */
export type RunKind = 'run' | 'repl';

export interface RunFinished {
  runId: string;
  kind?: RunKind;
  exitCode: number | null;
  signal?: string | null;
  timedOut: boolean;
  oomKilled: boolean;
  durationMs: number;
  truncated: boolean;
  backend?: string;
  /** ok, error, timeout, oom, truncated, compile_error, signal, stopped, idle (a REPL nobody typed
   * into), or a sandbox failure label. */
  outcome?: string;
  /** Display name of whoever stopped the run (outcome `stopped`). */
  stoppedBy?: string | null;
  limits?: RunLimits;
}

/** The limits a run ran under. */
export interface RunLimits {
  timeoutMs: number;
  outputBytes: number;
  memoryMb: number;
  /** A REPL's idle timeout. */
  idleMs?: number;
}

/** A finished run as stored (`GET /api/pads/{slug}/runs/last`). */
export interface StoredRun {
  runId: string;
  kind?: RunKind;
  userId: number | null;
  userName: string | null;
  language: string;
  entry: string;
  startedAtMs: number;
  finishedAtMs: number;
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  oomKilled: boolean;
  truncated: boolean;
  backend: string;
  outcome: string;
  stdout: string;
  stderr: string;
  /** Current name of whoever stopped it (outcome `stopped`). */
  stoppedBy?: string | null;
  /** How stdout (`o`), console input (`i`, inside stdout) and stderr (`e`) interleaved, in UTF-16
   * units; null for runs stored before it was kept. */
  layout?: Array<['o' | 'i' | 'e', number]> | null;
}

export interface Health {
  ok: boolean;
  name?: string;
  version?: string;
  mode?: string;
  exec?: { backend?: string; sandboxed?: boolean; [k: string]: unknown };
  [k: string]: unknown;
}

// --- recordings and playback (SPEC §7; times are ms since the epoch) -------------------------

export interface RecordingView {
  id: number;
  name: string;
  startedAt: number;
  /** null while recording. */
  endedAt: number | null;
  durationMs: number | null;
  active: boolean;
  autoStarted: boolean;
  createdBy: { userId: number; name: string } | null;
  /** `manual`, `idle` or `reconcile` once stopped. */
  stopReason: string | null;
}

export interface RecordingList {
  /** Newest first. */
  recordings: RecordingView[];
  autoRecord: boolean;
}

/**
 * One event of a recording's timeline. `data` by kind: `edit` {updateId, files, update (base64
 * Yjs v1)}, `run` {runId, language, entry, finishedAt, exitCode, signal, timedOut, oomKilled,
 * truncated, outcome, stdout, stderr}, `chat` {messageId, body}, `join`/`leave` {}, `files`
 * {files:[{id,name,language}], changes?}, `terminal` {text, bytes, dropped?, truncated?},
 * `terminal.status` {state, …}; other kinds as their feature logged them.
 */
export interface TimelineEvent {
  at: number;
  kind: string;
  userId: number | null;
  userName: string | null;
  data: Record<string, unknown>;
}

export interface TimelinePage {
  events: TimelineEvent[];
  /** Pass as `after` for the next page (always present). */
  nextCursor: string;
  hasMore: boolean;
}

export interface RecordingState {
  /** The instant shown (moved into the window). */
  t: number;
  /** Every file's text at `t`. */
  files: Record<string, string>;
  /** With `yjs=true`: the document at `t` as one Yjs v1 update (base64). */
  yjsState?: string;
}

/** `GET /api/auth/config`: the ways in. `sso` is null when single sign-on is not configured. */
export interface AuthConfig {
  names: boolean;
  sso: { label: string } | null;
}
