import { ApiError, isApiError } from './client';

/** Seconds as "12 s", "3 min", "1 h 5 min". */
export function formatWait(seconds: number): string {
  const s = Math.max(0, Math.ceil(seconds));
  if (s < 60) return `${s} s`;
  const m = Math.ceil(s / 60);
  if (m < 60) return `${m} min`;
  const h = Math.floor(m / 60);
  const rest = m % 60;
  return rest ? `${h} h ${rest} min` : `${h} h`;
}

const SENTENCES: Record<string, string> = {
  network: "Can't reach the server. Check your connection and try again.",
  invalid_token: 'Your session has expired or was signed out elsewhere. Sign in again.',
  unauthenticated: 'Sign in first.',
  invalid_recovery_key: "That recovery key doesn't match any account. Check it and try again.",
  not_found: "That doesn't exist, or you don't have access to it.",
  forbidden: "Your role on this pad doesn't allow that.",
  wrong_password: 'Wrong password.',
  invite_expired: 'This invite link has expired. Ask the owner for a new one.',
  invite_revoked: 'This invite link was revoked. Ask the owner for a new one.',
  invite_used_up: 'This invite link has been used the maximum number of times.',
  doc_too_large: "That would make the pad's document larger than the server allows (8 MiB). Split the work across pads.",
  history_full: "This pad's edit history is full, so it can't take more changes. Fork it to keep working.",
  too_many_containers: 'Too many sandboxes are running (yours or the server’s). Stop a run or a terminal and try again.',
  restart_too_soon: 'The terminal was just restarted. Wait a moment and try again.',
  overloaded: 'The server is busy saving edits. Try again in a moment.',
  removed_from_pad: 'The owner removed you from this pad. Ask them to re-admit you before you use an invite link or the password again.',
  cross_origin_refused: 'This page is not allowed to use your session here. Open the app from its own address.',
  last_file: "A pad needs at least one file, so the last file can't be deleted.",
  payload_too_large: 'That is too large for the server to accept.',
  terminal_not_running: "The terminal isn't running. Open it (or restart it) first.",
  terminal_not_open: 'Nobody has the terminal open, so there is nothing to restart. Open it to start a shell.',
  already_recording: 'This pad is already being recorded. Stop that recording first.',
  not_recording: 'That recording has already stopped.',
  run_in_progress: 'A run is still going on this pad. Stop it first, or wait for it to finish.',
  run_finished: 'That run has already finished.',
  invalid_cursor: 'The timeline position is no longer valid. Reload the page.',
  sso_only: 'This server signs people in only through its single sign-on. Use the sign-in button.',
  sso_state_mismatch:
    "That sign-in didn't match one started in this browser (it was already used, or came from elsewhere). Start again.",
  sso_login_expired: 'The sign-in took too long at the identity provider. Start again.',
  sso_provider_error: 'The identity provider refused or cancelled the sign-in.',
  sso_code_rejected: 'The identity provider refused to complete the sign-in. Start again.',
  sso_id_token_invalid: "The identity provider's answer could not be verified (it may have expired). Start again.",
  sso_unavailable: "Can't reach the identity provider right now. Try again later.",
  sso_already_linked: 'That identity is already linked to another account here.',
  internal: 'Something went wrong on the server. Try again; if it keeps happening, tell the operator.',
};

/** A plain-language sentence for any error, for showing to the user. Never empty. */
export function describeError(err: unknown): string {
  if (isApiError(err)) return describeApiError(err);
  if (err instanceof Error && err.message) return err.message;
  return 'Something went wrong.';
}

function describeApiError(err: ApiError): string {
  if (err.code === 'rate_limited' || err.status === 429) {
    return err.retryAfter != null
      ? `Too many attempts. Try again in ${formatWait(err.retryAfter)}.`
      : 'Too many attempts. Wait a moment and try again.';
  }
  const known = SENTENCES[err.code];
  if (known) return known;
  const msg = err.message.trim();
  if (!msg) return `The request failed (${err.status}).`;
  const sentence = msg.charAt(0).toUpperCase() + msg.slice(1);
  return /[.!?]$/.test(sentence) ? sentence : sentence + '.';
}

/** Codes that reach the client only in the single sign-on callback's redirect, without the
 * server's own message. */
const REDIRECT_SENTENCES: Record<string, string> = {
  signup_closed: 'Sign-up is closed on this server. Ask its operator for an account.',
  signup_invite_required: 'Sign-up on this server needs an invite link. Open the invite you were sent, then sign in.',
  account_disabled: "This account has been disabled by the server's operator.",
};

/** The sentence for an error code the server put in a redirect (`/?sso_error=<code>`). */
export function describeCode(code: string): string {
  return REDIRECT_SENTENCES[code] ?? SENTENCES[code] ?? `The sign-in failed (${code}).`;
}
