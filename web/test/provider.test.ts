import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import { beforeEach, describe, expect, it } from 'vitest';
import * as awarenessProtocol from 'y-protocols/awareness';
import * as syncProtocol from 'y-protocols/sync';
import * as Y from 'yjs';
import { Backoff } from '../src/collab/backoff';
import { encodeAppMessage, MSG_AWARENESS, MSG_SYNC } from '../src/collab/protocol';
import { PadProvider, padSocketUrl, subprotocolsFor, type WebSocketLike } from '../src/collab/provider';

/** A socket whose far end is a tiny y-protocols server holding `serverDoc`. */
class FakeSocket implements WebSocketLike {
  binaryType = 'blob';
  readyState = 0;
  onopen: ((ev: unknown) => void) | null = null;
  onclose: ((ev: { code: number; reason: string }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  sent: Uint8Array[] = [];
  closed: { code?: number; reason?: string } | null = null;
  constructor(
    readonly url: string,
    readonly protocols: string[],
    readonly server: FakeServer,
  ) {}
  send(data: Uint8Array) {
    this.sent.push(data);
    this.server.receive(this, data);
  }
  close(code?: number, reason?: string) {
    this.closed = { code, reason };
    this.readyState = 3;
  }
  // test helpers
  open() {
    this.readyState = 1;
    this.onopen?.({});
    this.server.opened(this);
  }
  serverClose(code: number, reason = '') {
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }
  deliver(frame: Uint8Array) {
    this.onmessage?.({ data: frame.buffer.slice(frame.byteOffset, frame.byteOffset + frame.byteLength) });
  }
}

class FakeServer {
  doc = new Y.Doc();
  sockets: FakeSocket[] = [];
  readOnly = false;
  opened(ws: FakeSocket) {
    const e = encoding.createEncoder();
    encoding.writeVarUint(e, MSG_SYNC);
    syncProtocol.writeSyncStep1(e, this.doc);
    ws.deliver(encoding.toUint8Array(e));
  }
  receive(ws: FakeSocket, data: Uint8Array) {
    if (ws.readyState !== 1) return;
    const d = decoding.createDecoder(data);
    const type = decoding.readVarUint(d);
    if (type === MSG_SYNC) {
      const e = encoding.createEncoder();
      encoding.writeVarUint(e, MSG_SYNC);
      syncProtocol.readSyncMessage(d, e, this.doc, 'client');
      if (encoding.length(e) > 1) ws.deliver(encoding.toUint8Array(e));
    }
  }
}

function makeEnv() {
  const server = new FakeServer();
  const sockets: FakeSocket[] = [];
  const timers: { fn: () => void; at: number; id: number }[] = [];
  let now = 0;
  let nextId = 1;
  let online = true;
  let onlineListener: ((o: boolean) => void) | null = null;
  const env = {
    server,
    sockets,
    timers,
    createSocket: (url: string, protocols: string[]) => {
      const s = new FakeSocket(url, protocols, server);
      sockets.push(s);
      return s;
    },
    setTimeout: (fn: () => void, ms: number) => {
      const id = nextId++;
      timers.push({ fn, at: now + ms, id });
      return id;
    },
    clearTimeout: (id: unknown) => {
      const i = timers.findIndex((t) => t.id === id);
      if (i >= 0) timers.splice(i, 1);
    },
    now: () => now,
    isOnline: () => online,
    watchOnline: (cb: (o: boolean) => void) => {
      onlineListener = cb;
      return () => (onlineListener = null);
    },
    /** Advance fake time, running due timers in order. */
    advance(ms: number) {
      const end = now + ms;
      for (;;) {
        timers.sort((a, b) => a.at - b.at);
        const t = timers[0];
        if (!t || t.at > end) break;
        timers.shift();
        now = t.at;
        t.fn();
      }
      now = end;
    },
    setOnline(o: boolean) {
      online = o;
      onlineListener?.(o);
    },
    /** Pending retry delays (timers other than ping/flush). */
    last: () => sockets[sockets.length - 1],
  };
  return env;
}

function makeProvider(env: ReturnType<typeof makeEnv>, doc = new Y.Doc(), token: string | null = 'jwt.tok.en') {
  return new PadProvider(doc, {
    url: 'ws://host/ws/pad/abc',
    getToken: () => token,
    createSocket: env.createSocket,
    setTimeout: env.setTimeout,
    clearTimeout: env.clearTimeout,
    now: env.now,
    isOnline: env.isOnline,
    watchOnline: env.watchOnline,
    random: () => 0, // no jitter: deterministic delays
    backoff: { initialMs: 500, maxMs: 8000, factor: 2, jitter: 0.5 },
    pingIntervalMs: 10_000,
    deadAfterMs: 30_000,
  });
}

describe('helpers', () => {
  it('offers the bearer token only as a subprotocol', () => {
    expect(subprotocolsFor('a.b.c')).toEqual(['opencoder.v1', 'oc.bearer.a.b.c']);
    expect(subprotocolsFor(null)).toEqual(['opencoder.v1']);
    expect(padSocketUrl('x y', { protocol: 'https:', host: 'h:1' })).toBe('wss://h:1/ws/pad/x%20y');
    expect(padSocketUrl('s', { protocol: 'http:', host: 'h' })).toBe('ws://h/ws/pad/s');
  });
});

describe('Backoff', () => {
  it('grows exponentially to the cap and resets', () => {
    const b = new Backoff({ initialMs: 500, maxMs: 4000, factor: 2, jitter: 0 });
    expect([b.next(), b.next(), b.next(), b.next(), b.next()]).toEqual([500, 1000, 2000, 4000, 4000]);
    b.reset();
    expect(b.next()).toBe(500);
  });
  it('jitters downward within the configured fraction', () => {
    const b = new Backoff({ initialMs: 1000, maxMs: 1000, factor: 2, jitter: 0.5 }, () => 1);
    expect(b.next()).toBe(500);
    const c = new Backoff({ initialMs: 1000, maxMs: 1000, factor: 2, jitter: 0.5 }, () => 0.5);
    expect(c.next()).toBe(750);
  });
});

describe('PadProvider', () => {
  let env: ReturnType<typeof makeEnv>;
  beforeEach(() => {
    env = makeEnv();
  });

  it('connects with the subprotocols, syncs both ways and goes live', () => {
    env.server.doc.getText('file:main.py').insert(0, 'server text');
    const doc = new Y.Doc();
    doc.getText('file:notes.md').insert(0, 'local text');
    const p = makeProvider(env, doc);
    expect(p.status).toBe('connecting');
    const ws = env.last();
    expect(ws.url).toBe('ws://host/ws/pad/abc');
    expect(ws.protocols).toEqual(['opencoder.v1', 'oc.bearer.jwt.tok.en']);
    ws.open();
    expect(ws.binaryType).toBe('arraybuffer');
    expect(p.status).toBe('live');
    expect(doc.getText('file:main.py').toString()).toBe('server text');
    expect(env.server.doc.getText('file:notes.md').toString()).toBe('local text');
    p.destroy();
  });

  it('batches local edits into one update frame', () => {
    const doc = new Y.Doc();
    const p = makeProvider(env, doc);
    const ws = env.last();
    ws.open();
    const before = ws.sent.length;
    const text = doc.getText('file:a');
    for (const ch of 'hello') text.insert(text.length, ch);
    expect(ws.sent.length).toBe(before); // not yet: within the batch window
    env.advance(20);
    expect(ws.sent.length).toBe(before + 1);
    expect(env.server.doc.getText('file:a').toString()).toBe('hello');
    p.destroy();
  });

  it('reconnects with growing backoff, and resets it after a successful sync', () => {
    const p = makeProvider(env);
    env.last().serverClose(1006);
    expect(p.status).toBe('reconnecting');
    expect(env.sockets.length).toBe(1);
    env.advance(499);
    expect(env.sockets.length).toBe(1);
    env.advance(1);
    expect(env.sockets.length).toBe(2); // 500 ms
    env.last().serverClose(1006);
    env.advance(999);
    expect(env.sockets.length).toBe(2);
    env.advance(1);
    expect(env.sockets.length).toBe(3); // 1000 ms
    env.last().serverClose(1011);
    env.advance(2000);
    expect(env.sockets.length).toBe(4); // 2000 ms
    env.last().open();
    expect(p.status).toBe('live');
    env.last().serverClose(1001);
    env.advance(500);
    expect(env.sockets.length).toBe(5); // reset to 500 ms after a healthy connection
    p.destroy();
  });

  it('stops for good on 4003 (no access) and 4001 (session revoked)', () => {
    const p = makeProvider(env);
    const reasons: string[] = [];
    p.on('closed', (r) => reasons.push(r.kind));
    env.last().open();
    env.last().serverClose(4003, 'you no longer have access to this pad');
    expect(p.status).toBe('closed');
    expect(p.closeReason).toEqual({ kind: 'no_access', message: 'you no longer have access to this pad' });
    env.advance(60_000);
    expect(env.sockets.length).toBe(1);
    expect(reasons).toEqual(['no_access']);

    const env2 = makeEnv();
    const p2 = makeProvider(env2);
    env2.last().open();
    env2.last().serverClose(4001);
    expect(p2.closeReason?.kind).toBe('session_revoked');
    env2.advance(60_000);
    expect(env2.sockets.length).toBe(1);
    p.destroy();
    p2.destroy();
  });

  it('keeps edits made offline and merges them on reconnect', () => {
    const doc = new Y.Doc();
    const p = makeProvider(env, doc);
    env.last().open();
    doc.getText('file:a').insert(0, 'one ');
    env.advance(20);
    expect(env.server.doc.getText('file:a').toString()).toBe('one ');

    env.setOnline(false);
    expect(p.status).toBe('offline');
    expect(env.last().closed).not.toBeNull();
    doc.getText('file:a').insert(4, 'offline ');
    env.server.doc.getText('file:a').insert(0, '>> '); // someone else keeps editing
    env.advance(60_000);
    expect(env.sockets.length).toBe(1); // no retries while the browser is offline

    env.setOnline(true);
    expect(env.sockets.length).toBe(2);
    env.last().open();
    expect(p.status).toBe('live');
    const merged = doc.getText('file:a').toString();
    expect(merged).toBe(env.server.doc.getText('file:a').toString());
    expect(merged).toContain('offline');
    expect(merged).toContain('>> ');
    p.destroy();
  });

  it('emits app messages and sends them only when connected', () => {
    const p = makeProvider(env);
    const got: unknown[] = [];
    p.on('app', (m) => got.push(m));
    expect(p.sendApp({ type: 'chat', body: 'early' })).toBe(false);
    env.last().open();
    expect(p.sendApp({ type: 'chat', body: 'hi' })).toBe(true);
    env.last().deliver(encodeAppMessage({ type: 'run.output', runId: 'r', stream: 'stdout', data: 'x' }));
    expect(got).toEqual([{ type: 'run.output', runId: 'r', stream: 'stdout', data: 'x' }]);
    p.destroy();
  });

  it('applies remote awareness and forgets it when the connection drops', () => {
    const doc = new Y.Doc();
    const p = makeProvider(env, doc);
    env.last().open();
    const remoteDoc = new Y.Doc();
    const remote = new awarenessProtocol.Awareness(remoteDoc);
    remote.setLocalState({ user: { id: 2, name: 'Bo', color: '#ff0000' } });
    const e = encoding.createEncoder();
    encoding.writeVarUint(e, MSG_AWARENESS);
    encoding.writeVarUint8Array(e, awarenessProtocol.encodeAwarenessUpdate(remote, [remoteDoc.clientID]));
    env.last().deliver(encoding.toUint8Array(e));
    expect(p.awareness.getStates().get(remoteDoc.clientID)).toEqual({ user: { id: 2, name: 'Bo', color: '#ff0000' } });
    env.last().serverClose(1006);
    expect(p.awareness.getStates().has(remoteDoc.clientID)).toBe(false);
    remote.destroy();
    p.destroy();
  });

  it('presumes a silent socket dead and reconnects', () => {
    const p = makeProvider(env);
    env.last().open();
    expect(env.sockets.length).toBe(1);
    env.advance(45_000); // pings go unanswered by this fake server
    expect(env.sockets.length).toBeGreaterThan(1);
    expect(env.sockets[0].closed).not.toBeNull();
    p.destroy();
  });

  it('does nothing after destroy', () => {
    const p = makeProvider(env);
    env.last().open();
    p.destroy();
    expect(p.status).toBe('closed');
    expect(env.last().closed?.code).toBe(1000);
    env.setOnline(false);
    env.setOnline(true);
    env.advance(60_000);
    expect(env.sockets.length).toBe(1);
  });
});
