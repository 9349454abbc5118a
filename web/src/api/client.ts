// The one HTTP path to the server: JSON in, JSON out, every failure turned into an `ApiError`
// with the server's stable code. Nothing here swallows an error; callers decide how to show it.

export const TOKEN_KEY = 'oc_token';

/** 401 codes that mean "this session is no longer valid" (others, like `wrong_password`, do not). */
export const SESSION_GONE_CODES = new Set(['invalid_token', 'unauthenticated']);

export class ApiError extends Error {
  /** HTTP status; 0 when the server could not be reached at all. */
  readonly status: number;
  /** The server's stable code (`not_found`, `rate_limited`, …) or a client-side one (`network`). */
  readonly code: string;
  /** Seconds to wait before retrying, from `Retry-After` (429/503), else null. */
  readonly retryAfter: number | null;

  constructor(status: number, code: string, message: string, retryAfter: number | null = null) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
  }
}

export function isApiError(err: unknown): err is ApiError {
  return err instanceof ApiError;
}

/** `Retry-After` is either delta-seconds or an HTTP date. Returns whole seconds ≥ 0, or null. */
export function parseRetryAfter(value: string | null, now: number = Date.now()): number | null {
  if (value == null) return null;
  const trimmed = value.trim();
  if (trimmed === '') return null;
  if (/^\d+$/.test(trimmed)) return Number.parseInt(trimmed, 10);
  const when = Date.parse(trimmed);
  if (Number.isNaN(when)) return null;
  return Math.max(0, Math.ceil((when - now) / 1000));
}

export interface TokenStore {
  get(): string | null;
  set(token: string | null): void;
}

export const localTokenStore: TokenStore = {
  get() {
    try {
      return localStorage.getItem(TOKEN_KEY);
    } catch {
      return null;
    }
  },
  set(token) {
    try {
      if (token) localStorage.setItem(TOKEN_KEY, token);
      else localStorage.removeItem(TOKEN_KEY);
    } catch {
      /* storage disabled: the httpOnly cookie still carries the session */
    }
  },
};

export interface ApiClientOptions {
  baseUrl?: string;
  fetch?: typeof fetch;
  tokens: TokenStore;
  /** Called when the server says the session is gone (401), before the error is thrown. */
  onUnauthorized?: (err: ApiError) => void;
}

export interface RequestOptions {
  body?: unknown;
  query?: Record<string, string | number | boolean | undefined | null>;
  signal?: AbortSignal;
  /** Do not report a 401 to `onUnauthorized` (sign-in attempts, where 401 means "wrong key"). */
  quiet401?: boolean;
}

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** A file the server sent (an export): the body as a Blob and the name it suggested. */
export interface Download {
  blob: Blob;
  /** From `Content-Disposition: attachment; filename="…"`, else null. */
  filename: string | null;
}

export interface ApiClient {
  request<T>(method: Method, path: string, options?: RequestOptions): Promise<T>;
  /** GET a file with the bearer token (never a token in a URL); errors as for `request`. */
  download(path: string, options?: Omit<RequestOptions, 'body'>): Promise<Download>;
  tokens: TokenStore;
}

/** The file name of a `Content-Disposition` header (plain `filename="…"` only), or null. */
export function dispositionFilename(value: string | null): string | null {
  if (!value) return null;
  const m = /filename\s*=\s*"([^"]*)"|filename\s*=\s*([^;\s]+)/i.exec(value);
  const name = (m?.[1] ?? m?.[2] ?? '').trim();
  // Only a bare file name: no paths, no control characters.
  if (!name || /[\\/\u0000-\u001f]/.test(name)) return null;
  return name;
}

function buildUrl(base: string, path: string, query?: RequestOptions['query']): string {
  let url = base + path;
  if (query) {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) {
      if (v !== undefined && v !== null && v !== '') params.set(k, String(v));
    }
    const qs = params.toString();
    if (qs) url += (url.includes('?') ? '&' : '?') + qs;
  }
  return url;
}

export function createApiClient(options: ApiClientOptions): ApiClient {
  const base = options.baseUrl ?? '';
  const doFetch = options.fetch ?? ((input: RequestInfo | URL, init?: RequestInit) => fetch(input, init));

  async function send(method: Method, path: string, opts: RequestOptions): Promise<Response> {
    const headers: Record<string, string> = { Accept: 'application/json' };
    const token = options.tokens.get();
    if (token) headers.Authorization = `Bearer ${token}`;
    let body: string | undefined;
    if (opts.body !== undefined) {
      headers['Content-Type'] = 'application/json';
      body = JSON.stringify(opts.body);
    }
    let response: Response;
    try {
      response = await doFetch(buildUrl(base, path, opts.query), {
        method,
        headers,
        body,
        credentials: 'same-origin',
        signal: opts.signal,
      });
    } catch (err) {
      if (err instanceof DOMException && err.name === 'AbortError') throw err;
      throw new ApiError(0, 'network', "Can't reach the server. Check your connection and try again.");
    }
    if (!response.ok) await throwFor(response, opts);
    return response;
  }

  async function throwFor(response: Response, opts: RequestOptions): Promise<never> {
    const text = await response.text().catch(() => '');
    let data: unknown = undefined;
    try {
      data = text ? JSON.parse(text) : undefined;
    } catch {
      data = undefined;
    }
    const obj = (data && typeof data === 'object' ? data : {}) as { error?: unknown; message?: unknown };
    const code = typeof obj.error === 'string' ? obj.error : `http_${response.status}`;
    const message =
      typeof obj.message === 'string' && obj.message
        ? obj.message
        : `The server answered ${response.status}${response.statusText ? ' ' + response.statusText : ''}.`;
    const err = new ApiError(response.status, code, message, parseRetryAfter(response.headers.get('Retry-After')));
    if (response.status === 401 && !opts.quiet401 && SESSION_GONE_CODES.has(code)) options.onUnauthorized?.(err);
    throw err;
  }

  async function request<T>(method: Method, path: string, opts: RequestOptions = {}): Promise<T> {
    const response = await send(method, path, opts);
    const text = await response.text().catch(() => '');
    let data: unknown = undefined;
    if (text) {
      try {
        data = JSON.parse(text);
      } catch {
        data = undefined;
      }
    }
    if (data === undefined && text) {
      throw new ApiError(response.status, 'bad_response', 'The server sent a response the app could not read.');
    }
    return data as T;
  }

  async function download(path: string, opts: Omit<RequestOptions, 'body'> = {}): Promise<Download> {
    const response = await send('GET', path, opts);
    let blob: Blob;
    try {
      blob = await response.blob();
    } catch (err) {
      if (err instanceof DOMException && err.name === 'AbortError') throw err;
      throw new ApiError(0, 'network', 'The download was interrupted. Check your connection and try again.');
    }
    return { blob, filename: dispositionFilename(response.headers.get('Content-Disposition')) };
  }

  return { request, download, tokens: options.tokens };
}
