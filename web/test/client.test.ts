import { describe, expect, it, vi } from 'vitest';
import { ApiError, createApiClient, dispositionFilename, parseRetryAfter, type TokenStore } from '../src/api/client';
import { describeError, formatWait } from '../src/api/errors';

async function rejection(p: Promise<unknown>): Promise<ApiError> {
  try {
    await p;
  } catch (e) {
    return e as ApiError;
  }
  throw new Error('expected the request to fail');
}

function memoryTokens(token: string | null = 'tok'): TokenStore {
  let t = token;
  return { get: () => t, set: (v) => (t = v) };
}

function jsonResponse(status: number, body: unknown, headers: Record<string, string> = {}) {
  return new Response(body === undefined ? null : JSON.stringify(body), {
    status,
    headers: { 'Content-Type': 'application/json', ...headers },
  });
}

describe('api client', () => {
  it('sends the bearer token and JSON body, returns parsed JSON', async () => {
    const fetch = vi.fn(async (_url: RequestInfo | URL, _init?: RequestInit) => jsonResponse(200, { ok: true }));
    const c = createApiClient({ tokens: memoryTokens('abc'), fetch });
    await expect(c.request('POST', '/api/x', { body: { a: 1 } })).resolves.toEqual({ ok: true });
    const [url, init] = fetch.mock.calls[0];
    expect(url).toBe('/api/x');
    const headers = init!.headers as Record<string, string>;
    expect(headers.Authorization).toBe('Bearer abc');
    expect(headers['Content-Type']).toBe('application/json');
    expect(init!.body).toBe('{"a":1}');
  });

  it('never puts the token in the URL and omits empty query values', async () => {
    const fetch = vi.fn(async (_url: RequestInfo | URL, _init?: RequestInit) => jsonResponse(200, {}));
    const c = createApiClient({ tokens: memoryTokens('secret-token'), fetch });
    await c.request('GET', '/api/pads/s/chat', { query: { before: undefined, limit: 50 } });
    expect(String(fetch.mock.calls[0][0])).toBe('/api/pads/s/chat?limit=50');
    expect(String(fetch.mock.calls[0][0])).not.toContain('secret-token');
  });

  it('turns the server error shape into an ApiError with its stable code', async () => {
    const fetch = vi.fn(async () => jsonResponse(409, { error: 'name_taken', message: 'a file with that name exists' }));
    const c = createApiClient({ tokens: memoryTokens(), fetch });
    const err = await rejection(c.request('POST', '/api/x'));
    expect(err).toBeInstanceOf(ApiError);
    expect(err.status).toBe(409);
    expect(err.code).toBe('name_taken');
    expect(describeError(err)).toBe('A file with that name exists.');
  });

  it('reads Retry-After on 429 and says how long to wait', async () => {
    const fetch = vi.fn(async () => jsonResponse(429, { error: 'rate_limited', message: 'slow down' }, { 'Retry-After': '42' }));
    const c = createApiClient({ tokens: memoryTokens(), fetch });
    const err = await rejection(c.request('POST', '/api/pads/x/unlock', { body: { password: 'p' } }));
    expect(err.retryAfter).toBe(42);
    expect(describeError(err)).toBe('Too many attempts. Try again in 42 s.');
  });

  it('reports a network failure as status 0 / code "network"', async () => {
    const fetch = vi.fn(async () => {
      throw new TypeError('Failed to fetch');
    });
    const c = createApiClient({ tokens: memoryTokens(), fetch });
    const err = await rejection(c.request('GET', '/api/pads'));
    expect(err.status).toBe(0);
    expect(err.code).toBe('network');
    expect(describeError(err)).toMatch(/Can't reach the server/);
  });

  it('handles non-JSON error bodies (a proxy page) without losing the status', async () => {
    const fetch = vi.fn(async () => new Response('<html>Bad gateway</html>', { status: 502, statusText: 'Bad Gateway' }));
    const c = createApiClient({ tokens: memoryTokens(), fetch });
    const err = await rejection(c.request('GET', '/api/pads'));
    expect(err.status).toBe(502);
    expect(err.code).toBe('http_502');
    expect(describeError(err)).toBe('The server answered 502 Bad Gateway.');
  });

  it('reports a dead session (401 invalid_token) but not a wrong password (401 wrong_password)', async () => {
    const onUnauthorized = vi.fn();
    let body = { error: 'wrong_password', message: 'wrong password' };
    const fetch = vi.fn(async () => jsonResponse(401, body));
    const c = createApiClient({ tokens: memoryTokens(), fetch, onUnauthorized });
    await c.request('POST', '/api/pads/x/unlock', { body: {} }).catch(() => {});
    expect(onUnauthorized).not.toHaveBeenCalled();
    body = { error: 'invalid_token', message: 'expired' };
    await c.request('GET', '/api/pads').catch(() => {});
    expect(onUnauthorized).toHaveBeenCalledTimes(1);
    await c.request('GET', '/api/auth/me', { quiet401: true }).catch(() => {});
    expect(onUnauthorized).toHaveBeenCalledTimes(1);
  });

  it('rethrows aborts untouched', async () => {
    const fetch = vi.fn(async () => {
      throw new DOMException('aborted', 'AbortError');
    });
    const c = createApiClient({ tokens: memoryTokens(), fetch });
    const err = await rejection(c.request('GET', '/api/pads'));
    expect(err.name).toBe('AbortError');
  });

  it('downloads files with the bearer token in a header, never in the URL', async () => {
    const fetch = vi.fn(
      async (_url: RequestInfo | URL, _init?: RequestInit) =>
        new Response('{"version":1}', {
          status: 200,
          headers: { 'Content-Type': 'application/json', 'Content-Disposition': 'attachment; filename="recording-abc-3.json"' },
        }),
    );
    const c = createApiClient({ tokens: memoryTokens('secret'), fetch });
    const file = await c.download('/api/pads/abc/recordings/3/export');
    expect(await file.blob.text()).toBe('{"version":1}');
    expect(file.filename).toBe('recording-abc-3.json');
    const [url, init] = fetch.mock.calls[0];
    expect(String(url)).toBe('/api/pads/abc/recordings/3/export');
    expect(String(url)).not.toContain('secret');
    expect((init?.headers as Record<string, string>).Authorization).toBe('Bearer secret');
  });

  it('turns a failed download into an ApiError with the server’s code', async () => {
    const fetch = vi.fn(async () => jsonResponse(403, { error: 'forbidden', message: 'your role may not export recordings' }));
    const c = createApiClient({ tokens: memoryTokens(), fetch });
    const err = await rejection(c.download('/api/x'));
    expect(err.status).toBe(403);
    expect(err.code).toBe('forbidden');
  });

  it('reads only plain file names from Content-Disposition', () => {
    expect(dispositionFilename('attachment; filename="a.json"')).toBe('a.json');
    expect(dispositionFilename('attachment; filename=b.json')).toBe('b.json');
    expect(dispositionFilename('attachment; filename="../../etc/passwd"')).toBeNull();
    expect(dispositionFilename(null)).toBeNull();
  });
});

describe('Retry-After and waits', () => {
  it('parses seconds and HTTP dates', () => {
    expect(parseRetryAfter('7')).toBe(7);
    expect(parseRetryAfter(null)).toBeNull();
    expect(parseRetryAfter('soon')).toBeNull();
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:30 GMT', now)).toBe(30);
    expect(parseRetryAfter('Thu, 01 Jan 2025 00:00:30 GMT', now)).toBe(0);
  });
  it('formats waits for people', () => {
    expect(formatWait(5)).toBe('5 s');
    expect(formatWait(61)).toBe('2 min');
    expect(formatWait(3600)).toBe('1 h');
    expect(formatWait(3700)).toBe('1 h 2 min');
  });
  it('describes rate limits without Retry-After honestly', () => {
    expect(describeError(new ApiError(429, 'rate_limited', 'x'))).toBe('Too many attempts. Wait a moment and try again.');
  });
});
