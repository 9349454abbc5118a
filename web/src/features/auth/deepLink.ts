// Where to send someone after they sign in. Only same-app paths are honoured, so `?next=` can
// never become an open redirect (`//evil.example`, `https://…`, `javascript:`).

function isAppPath(path: string): boolean {
  return (
    path === '/dashboard' ||
    path === '/settings' ||
    path === '/admin' ||
    /^\/p\/[^/]+(\/[^/]*)?$/.test(path) ||
    /^\/p\/[^/]+\/recordings\/\d+$/.test(path) ||
    /^\/invite\/[^/]+$/.test(path) ||
    /^\/take-home\/[^/]+$/.test(path)
  );
}

/** A safe in-app path from an untrusted `next` value, or null. */
export function sanitizeNext(next: string | null | undefined): string | null {
  if (!next) return null;
  let value = next.trim();
  if (value.length > 2048) return null;
  // Reject anything that is not a plain absolute path on this origin.
  if (!value.startsWith('/') || value.startsWith('//') || value.startsWith('/\\')) return null;
  if (/[\u0000-\u001f\\]/.test(value)) return null;
  try {
    const url = new URL(value, 'http://opencoder.invalid');
    if (url.origin !== 'http://opencoder.invalid') return null;
    value = url.pathname + url.search + url.hash;
    if (!isAppPath(url.pathname)) return null;
  } catch {
    return null;
  }
  return value;
}

/** The landing URL that brings the user back to `path` after signing in. */
export function signInUrlFor(path: string): string {
  const safe = sanitizeNext(path);
  return safe && safe !== '/dashboard' ? `/?next=${encodeURIComponent(safe)}` : '/';
}

/** Where to go once signed in: the sanitized `next` from the landing URL's query, else the dashboard. */
export function afterSignIn(search: string): string {
  const params = new URLSearchParams(search);
  return sanitizeNext(params.get('next')) ?? '/dashboard';
}

/** The invite token of an `/invite/<token>` destination: sign-up sends it, as a server whose
 * sign-up is invite-only requires. */
export function inviteTokenIn(path: string): string | undefined {
  const match = /^\/invite\/([^/?#]+)/.exec(path);
  return match ? decodeURIComponent(match[1]) : undefined;
}
