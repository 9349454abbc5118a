// The pad socket: one WebSocket per open pad carrying Yjs sync, awareness and opencoder's own
// app messages (type 100). Our own provider rather than y-websocket's because the token rides in
// a subprotocol (`oc.bearer.<jwt>`) and app messages share the socket.
//
// Reconnects with exponential backoff + jitter. Local edits made while disconnected stay in the
// Y.Doc; on reconnect both sides exchange sync step 1/2 (state vectors), so nothing is lost. As a
// belt-and-braces measure, updates made while no socket was open are also re-sent on open.
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import * as authProtocol from 'y-protocols/auth';
import * as awarenessProtocol from 'y-protocols/awareness';
import * as syncProtocol from 'y-protocols/sync';
import * as Y from 'yjs';
import { Backoff, DEFAULT_BACKOFF, type BackoffOptions } from './backoff';
import {
  CLOSE_NO_ACCESS,
  CLOSE_SESSION_REVOKED,
  MSG_APP,
  MSG_AUTH,
  MSG_AWARENESS,
  MSG_QUERY_AWARENESS,
  MSG_SYNC,
  encodeAppMessage,
  readAppMessage,
  type AppMessage,
  type OutgoingAppMessage,
} from './protocol';

export type ConnectionStatus =
  /** First connection attempt in progress. */
  | 'connecting'
  /** Socket open and the document synced. */
  | 'live'
  /** Socket open, waiting for the first sync. */
  | 'syncing'
  /** Lost the connection; a retry is scheduled. */
  | 'reconnecting'
  /** The browser reports no network; retry when it comes back. */
  | 'offline'
  /** Will not reconnect: see `closeReason`. */
  | 'closed';

export type CloseReason =
  | { kind: 'no_access'; message: string }
  | { kind: 'session_revoked'; message: string }
  | { kind: 'destroyed' };

export interface ProviderEvents {
  status: (status: ConnectionStatus) => void;
  synced: () => void;
  app: (message: AppMessage) => void;
  /** The server refused a document update (y-protocols auth "permission denied"). */
  permissionDenied: (reason: string) => void;
  closed: (reason: CloseReason) => void;
  rtt: (ms: number) => void;
}

type Listener<K extends keyof ProviderEvents> = ProviderEvents[K];

export interface WebSocketLike {
  binaryType: string;
  readonly readyState: number;
  onopen: ((ev: unknown) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
}

export type WebSocketFactory = (url: string, protocols: string[]) => WebSocketLike;

export interface ProviderOptions {
  /** Full ws:// or wss:// URL of `/ws/pad/{slug}`. */
  url: string;
  /** Current token, read on every (re)connect; null = rely on the cookie. */
  getToken: () => string | null;
  awareness?: awarenessProtocol.Awareness;
  createSocket?: WebSocketFactory;
  backoff?: BackoffOptions;
  random?: () => number;
  /** Whether the browser thinks it is online (navigator.onLine). */
  isOnline?: () => boolean;
  /** Subscribe to online/offline changes; returns an unsubscribe. */
  watchOnline?: (onChange: (online: boolean) => void) => () => void;
  setTimeout?: (fn: () => void, ms: number) => unknown;
  clearTimeout?: (id: unknown) => void;
  /** How often to ping (query-awareness) to measure round-trip time and spot dead sockets. */
  pingIntervalMs?: number;
  /** No message at all for this long after a ping → the socket is presumed dead. */
  deadAfterMs?: number;
  now?: () => number;
  /** Local updates within this window are merged into one frame. */
  batchMs?: number;
  connect?: boolean;
}

const OPEN = 1;

export const SUBPROTOCOL = 'opencoder.v1';
export const BEARER_PREFIX = 'oc.bearer.';

/** The subprotocols to offer: ours, plus the token when there is one. Never a URL parameter. */
export function subprotocolsFor(token: string | null): string[] {
  return token ? [SUBPROTOCOL, BEARER_PREFIX + token] : [SUBPROTOCOL];
}

/** `ws(s)://<host>/ws/pad/<slug>` for the current page. */
export function padSocketUrl(slug: string, loc: { protocol: string; host: string } = window.location): string {
  const scheme = loc.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${loc.host}/ws/pad/${encodeURIComponent(slug)}`;
}

export class PadProvider {
  readonly doc: Y.Doc;
  readonly awareness: awarenessProtocol.Awareness;
  status: ConnectionStatus = 'connecting';
  synced = false;
  /** Set once the provider gives up for good. */
  closeReason: CloseReason | null = null;
  /** Last measured round trip, ms. */
  rttMs: number | null = null;

  private ws: WebSocketLike | null = null;
  private readonly backoff: Backoff;
  private retryTimer: unknown = null;
  private pingTimer: unknown = null;
  private pingSentAt: number | null = null;
  private lastMessageAt = 0;
  private everConnected = false;
  private destroyed = false;
  /** Updates made while no socket was open; re-sent on the next open. */
  private pending: Uint8Array[] = [];
  private flushTimer: unknown = null;
  private readonly listeners: { [K in keyof ProviderEvents]: Set<Listener<K>> } = {
    status: new Set(),
    synced: new Set(),
    app: new Set(),
    permissionDenied: new Set(),
    closed: new Set(),
    rtt: new Set(),
  };
  private readonly opts: Required<
    Pick<ProviderOptions, 'createSocket' | 'isOnline' | 'setTimeout' | 'clearTimeout' | 'pingIntervalMs' | 'deadAfterMs' | 'now'>
  > &
    ProviderOptions;
  private unwatchOnline: (() => void) | null = null;

  constructor(doc: Y.Doc, options: ProviderOptions) {
    this.doc = doc;
    this.awareness = options.awareness ?? new awarenessProtocol.Awareness(doc);
    this.opts = {
      createSocket: (url, protocols) => new WebSocket(url, protocols) as unknown as WebSocketLike,
      isOnline: () => (typeof navigator === 'undefined' ? true : navigator.onLine !== false),
      setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
      clearTimeout: (id) => globalThis.clearTimeout(id as ReturnType<typeof setTimeout>),
      pingIntervalMs: 10_000,
      deadAfterMs: 30_000,
      now: () => Date.now(),
      batchMs: 10,
      ...options,
    };
    this.backoff = new Backoff(options.backoff ?? DEFAULT_BACKOFF, options.random);
    this.doc.on('update', this.onDocUpdate);
    this.awareness.on('update', this.onAwarenessUpdate);
    const watch =
      options.watchOnline ??
      (typeof window !== 'undefined'
        ? (cb: (online: boolean) => void) => {
            const on = () => cb(true);
            const off = () => cb(false);
            window.addEventListener('online', on);
            window.addEventListener('offline', off);
            return () => {
              window.removeEventListener('online', on);
              window.removeEventListener('offline', off);
            };
          }
        : null);
    if (watch) this.unwatchOnline = watch(this.onOnlineChange);
    if (options.connect !== false) this.connect();
  }

  on<K extends keyof ProviderEvents>(event: K, listener: ProviderEvents[K]): () => void {
    (this.listeners[event] as Set<ProviderEvents[K]>).add(listener);
    return () => (this.listeners[event] as Set<ProviderEvents[K]>).delete(listener);
  }

  private emit<K extends keyof ProviderEvents>(event: K, ...args: Parameters<ProviderEvents[K]>) {
    for (const l of this.listeners[event] as Set<(...a: Parameters<ProviderEvents[K]>) => void>) {
      try {
        l(...args);
      } catch (err) {
        console.error(`opencoder: ${event} listener failed`, err);
      }
    }
  }

  private setStatus(status: ConnectionStatus) {
    if (this.status === status) return;
    this.status = status;
    this.emit('status', status);
  }

  /** Is a socket open right now? */
  get connected(): boolean {
    return this.ws != null && this.ws.readyState === OPEN;
  }

  /** Open a socket now (cancelling any scheduled retry). */
  connect(): void {
    if (this.destroyed || this.closeReason) return;
    this.clearRetry();
    if (this.ws) return;
    if (!this.opts.isOnline()) {
      this.setStatus('offline');
      return;
    }
    this.setStatus(this.everConnected ? 'reconnecting' : 'connecting');
    let ws: WebSocketLike;
    try {
      ws = this.opts.createSocket(this.opts.url, subprotocolsFor(this.opts.getToken()));
    } catch (err) {
      console.error('opencoder: could not open the pad socket', err);
      this.scheduleReconnect();
      return;
    }
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    this.synced = false;
    ws.onopen = () => this.onOpen(ws);
    ws.onmessage = (ev) => this.onMessage(ws, ev.data);
    ws.onerror = () => {
      /* onclose follows and decides */
    };
    ws.onclose = (ev) => this.onClose(ws, ev.code, ev.reason);
  }

  /** Try again right away (the "Retry now" button). */
  reconnectNow(): void {
    if (this.destroyed || this.closeReason) return;
    this.backoff.reset();
    if (this.ws) {
      const ws = this.ws;
      this.detach(ws);
      ws.close();
    }
    this.connect();
  }

  /** Send an app message; false when there is no open socket (the caller should say so). */
  sendApp(message: OutgoingAppMessage): boolean {
    return this.send(encodeAppMessage(message));
  }

  destroy(): void {
    if (this.destroyed) return;
    this.flush(); // last keystrokes go out before the socket closes
    this.destroyed = true;
    this.clearRetry();
    this.stopPing();
    this.unwatchOnline?.();
    this.doc.off('update', this.onDocUpdate);
    this.awareness.off('update', this.onAwarenessUpdate);
    if (this.ws) {
      const ws = this.ws;
      // Tell peers we left before closing.
      awarenessProtocol.removeAwarenessStates(this.awareness, [this.doc.clientID], 'local');
      this.detach(ws);
      ws.close(1000, 'left');
    }
    this.closeReason = { kind: 'destroyed' };
    this.setStatus('closed');
  }

  // --- socket events -------------------------------------------------------------------------

  private onOpen(ws: WebSocketLike) {
    if (ws !== this.ws) return;
    this.everConnected = true;
    this.lastMessageAt = this.opts.now();
    this.setStatus('syncing');
    // Sync step 1: our state vector; the server answers with what we lack (step 2) and sends its
    // own step 1, which we answer with what it lacks — including edits made while offline.
    const encoder = encoding.createEncoder();
    encoding.writeVarUint(encoder, MSG_SYNC);
    syncProtocol.writeSyncStep1(encoder, this.doc);
    this.send(encoding.toUint8Array(encoder));
    this.flush();
    if (this.awareness.getLocalState() !== null) {
      this.send(this.encodeAwareness([this.doc.clientID]));
    }
    this.startPing();
  }

  private onMessage(ws: WebSocketLike, data: unknown) {
    if (ws !== this.ws) return;
    this.lastMessageAt = this.opts.now();
    if (!(data instanceof ArrayBuffer) && !ArrayBuffer.isView(data)) return; // text frames: not ours
    const bytes = data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array((data as ArrayBufferView).buffer);
    const decoder = decoding.createDecoder(bytes);
    let type: number;
    try {
      type = decoding.readVarUint(decoder);
    } catch {
      return;
    }
    try {
      switch (type) {
        case MSG_SYNC: {
          const encoder = encoding.createEncoder();
          encoding.writeVarUint(encoder, MSG_SYNC);
          const kind = syncProtocol.readSyncMessage(decoder, encoder, this.doc, this);
          if (encoding.length(encoder) > 1) this.send(encoding.toUint8Array(encoder));
          if (kind === syncProtocol.messageYjsSyncStep2 && !this.synced) {
            this.synced = true;
            this.backoff.reset();
            this.setStatus('live');
            this.emit('synced');
          }
          break;
        }
        case MSG_AWARENESS: {
          if (this.pingSentAt != null) {
            const rtt = this.opts.now() - this.pingSentAt;
            this.pingSentAt = null;
            this.rttMs = rtt;
            this.emit('rtt', rtt);
          }
          awarenessProtocol.applyAwarenessUpdate(this.awareness, decoding.readVarUint8Array(decoder), this);
          break;
        }
        case MSG_AUTH:
          authProtocol.readAuthMessage(decoder, this.doc, (_doc, reason) => this.emit('permissionDenied', reason));
          break;
        case MSG_QUERY_AWARENESS:
          this.send(this.encodeAwareness(Array.from(this.awareness.getStates().keys())));
          break;
        case MSG_APP: {
          const message = readAppMessage(decoder);
          if (message) this.emit('app', message);
          break;
        }
        default:
          break; // unknown types are ignored, as stock Yjs clients do
      }
    } catch (err) {
      console.error('opencoder: could not process a pad socket message', err);
    }
  }

  private onClose(ws: WebSocketLike, code: number, reason: string) {
    if (ws !== this.ws) return;
    this.detach(ws);
    this.stopPing();
    this.synced = false;
    this.dropRemoteAwareness();
    if (this.destroyed) return;
    if (code === CLOSE_NO_ACCESS) {
      this.finish({ kind: 'no_access', message: reason || 'You no longer have access to this pad.' });
      return;
    }
    if (code === CLOSE_SESSION_REVOKED) {
      this.finish({ kind: 'session_revoked', message: reason || 'Your session was signed out. Sign in again.' });
      return;
    }
    this.scheduleReconnect();
  }

  /** Remote cursors are stale once we're cut off; the server re-sends them after reconnecting. */
  private dropRemoteAwareness() {
    const others = Array.from(this.awareness.getStates().keys()).filter((c) => c !== this.doc.clientID);
    if (others.length) awarenessProtocol.removeAwarenessStates(this.awareness, others, this);
  }

  private finish(reason: CloseReason) {
    this.closeReason = reason;
    this.clearRetry();
    this.setStatus('closed');
    this.emit('closed', reason);
  }

  private detach(ws: WebSocketLike) {
    ws.onopen = ws.onmessage = ws.onerror = ws.onclose = null;
    if (this.ws === ws) this.ws = null;
  }

  private scheduleReconnect() {
    if (this.destroyed || this.closeReason) return;
    this.clearRetry();
    if (!this.opts.isOnline()) {
      this.setStatus('offline');
      return;
    }
    this.setStatus('reconnecting');
    const delay = this.backoff.next();
    this.retryTimer = this.opts.setTimeout(() => {
      this.retryTimer = null;
      this.connect();
    }, delay);
  }

  private clearRetry() {
    if (this.retryTimer != null) {
      this.opts.clearTimeout(this.retryTimer);
      this.retryTimer = null;
    }
  }

  private onOnlineChange = (online: boolean) => {
    if (this.destroyed || this.closeReason) return;
    if (online) {
      this.backoff.reset();
      this.connect();
    } else {
      // The socket may linger half-dead; drop it so edits queue locally and we resync cleanly.
      if (this.ws) {
        const ws = this.ws;
        this.detach(ws);
        this.stopPing();
        this.synced = false;
        this.dropRemoteAwareness();
        try {
          ws.close(4000, 'offline');
        } catch {
          /* ignore */
        }
      }
      this.clearRetry();
      this.setStatus('offline');
    }
  };

  // --- ping ----------------------------------------------------------------------------------

  private startPing() {
    this.stopPing();
    const tick = () => {
      this.pingTimer = this.opts.setTimeout(tick, this.opts.pingIntervalMs);
      if (!this.connected) return;
      const now = this.opts.now();
      if (now - this.lastMessageAt > this.opts.deadAfterMs) {
        // Nothing heard for too long: presume the socket dead and start over.
        const ws = this.ws!;
        this.detach(ws);
        this.stopPing();
        this.synced = false;
        this.dropRemoteAwareness();
        try {
          ws.close(4000, 'no response');
        } catch {
          /* ignore */
        }
        this.scheduleReconnect();
        return;
      }
      this.pingSentAt = now;
      const encoder = encoding.createEncoder();
      encoding.writeVarUint(encoder, MSG_QUERY_AWARENESS);
      this.send(encoding.toUint8Array(encoder));
    };
    this.pingTimer = this.opts.setTimeout(tick, Math.min(1000, this.opts.pingIntervalMs));
  }

  private stopPing() {
    if (this.pingTimer != null) {
      this.opts.clearTimeout(this.pingTimer);
      this.pingTimer = null;
    }
    this.pingSentAt = null;
  }

  // --- outgoing ------------------------------------------------------------------------------

  private send(frame: Uint8Array): boolean {
    const ws = this.ws;
    if (!ws || ws.readyState !== OPEN) return false;
    try {
      ws.send(frame);
      return true;
    } catch {
      return false;
    }
  }

  private sendUpdate(update: Uint8Array): boolean {
    const encoder = encoding.createEncoder();
    encoding.writeVarUint(encoder, MSG_SYNC);
    syncProtocol.writeUpdate(encoder, update);
    return this.send(encoding.toUint8Array(encoder));
  }

  private encodeAwareness(clients: number[]): Uint8Array {
    const encoder = encoding.createEncoder();
    encoding.writeVarUint(encoder, MSG_AWARENESS);
    encoding.writeVarUint8Array(encoder, awarenessProtocol.encodeAwarenessUpdate(this.awareness, clients));
    return encoding.toUint8Array(encoder);
  }

  private onDocUpdate = (update: Uint8Array, origin: unknown) => {
    if (origin === this) return; // came from the server
    this.pending.push(update);
    if (this.pending.length > 200) this.pending = [Y.mergeUpdates(this.pending)];
    if (this.flushTimer == null) this.flushTimer = this.opts.setTimeout(this.flush, this.opts.batchMs ?? 10);
  };

  /** Send queued local updates as one merged update (keeps bursts under the server's rate limit). */
  private flush = () => {
    if (this.flushTimer != null) {
      this.opts.clearTimeout(this.flushTimer);
      this.flushTimer = null;
    }
    if (this.pending.length === 0 || !this.connected) return;
    const merged = this.pending.length === 1 ? this.pending[0] : Y.mergeUpdates(this.pending);
    if (this.sendUpdate(merged)) this.pending = [];
  };

  /** Local updates not yet handed to a socket (queued while offline or within the batch window). */
  get unsentUpdates(): number {
    return this.pending.length;
  }

  private onAwarenessUpdate = (
    { added, updated, removed }: { added: number[]; updated: number[]; removed: number[] },
    origin: unknown,
  ) => {
    if (origin === this) return;
    const changed = added.concat(updated, removed);
    if (changed.length) this.send(this.encodeAwareness(changed));
  };
}
