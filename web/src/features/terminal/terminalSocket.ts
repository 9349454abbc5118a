// Client of the shared terminal socket, `/ws/pad/{slug}/terminal` (SPEC §6). No DOM, no React:
// the panel (TerminalPanel.tsx) renders, this file speaks the protocol.
//
// Handshake: subprotocols `opencoder.v1` + `oc.bearer.<token>` (never a URL parameter; the
// server selects `opencoder.v1`). Binary frames: raw terminal output (server → client) and raw
// input (client → server). Text frames: JSON control messages —
//   client → server  {type:"resize", cols, rows}   {type:"restart"}
//   server → client  {type:"role", role, canType}
//                    {type:"status", state, idleMs, maxMs, local, code?, message?}
//                    {type:"size", cols, rows}
//                    {type:"error", code, message}
// Close codes: 4001 revoked, 4003 no access (kicked), 4004 pad deleted: final. 1001 (server
// restart), 1006 (network) and 1013 (too slow) reconnect with backoff; 1008/1009 do not.

export type TerminalState = 'connecting' | 'starting' | 'running' | 'exited' | 'idle_timeout' | 'max_lifetime' | 'closed';

export interface TerminalStatusMessage {
  type: 'status';
  state: 'starting' | 'running' | 'exited' | 'idle_timeout' | 'max_lifetime';
  idleMs: number;
  maxMs: number;
  /** The server runs shells on its own host (development fallback, no isolation). */
  local: boolean;
  code?: number | null;
  message?: string;
}

export interface TerminalSocketHandlers {
  onOutput(data: Uint8Array): void;
  onStatus(status: TerminalStatusMessage): void;
  onSize(cols: number, rows: number): void;
  onRole(role: string, canType: boolean): void;
  onError(code: string, message: string): void;
  /** The socket closed; `final` when it will not reconnect. */
  onClose(code: number, reason: string, final: boolean): void;
  onOpen?(): void;
}

export interface WebSocketLikeT {
  binaryType: string;
  readyState: number;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  send(data: string | ArrayBufferLike | ArrayBufferView): void;
  close(code?: number, reason?: string): void;
}

export interface TerminalSocketOptions {
  url: string;
  getToken: () => string | null;
  handlers: TerminalSocketHandlers;
  createSocket?: (url: string, protocols: string[]) => WebSocketLikeT;
}

const FINAL_CODES = new Set([4001, 4003, 4004, 1008, 1009]);
const MAX_BACKOFF_MS = 8000;

/** `ws(s)://<this host>/ws/pad/<slug>/terminal`. */
export function terminalUrl(slug: string, loc: { protocol: string; host: string } = window.location): string {
  const scheme = loc.protocol === 'https:' ? 'wss' : 'ws';
  return `${scheme}://${loc.host}/ws/pad/${encodeURIComponent(slug)}/terminal`;
}

export class TerminalSocket {
  private ws: WebSocketLikeT | null = null;
  private stopped = false;
  private backoff = 1000;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private readonly encoder = new TextEncoder();
  private lastSize: { cols: number; rows: number } | null = null;

  constructor(private readonly opts: TerminalSocketOptions) {
    this.open();
  }

  private open() {
    const token = this.opts.getToken();
    const protocols = token ? ['opencoder.v1', `oc.bearer.${token}`] : ['opencoder.v1'];
    const create = this.opts.createSocket ?? ((url, p) => new WebSocket(url, p) as unknown as WebSocketLikeT);
    const ws = create(this.opts.url, protocols);
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    const h = this.opts.handlers;
    ws.onopen = () => {
      this.backoff = 1000;
      // Tell the server our viewport again (it forgets it with the connection).
      if (this.lastSize) this.sendText({ type: 'resize', ...this.lastSize });
      h.onOpen?.();
    };
    ws.onmessage = (ev) => {
      if (typeof ev.data === 'string') {
        let msg: Record<string, unknown>;
        try {
          msg = JSON.parse(ev.data);
        } catch {
          return;
        }
        switch (msg.type) {
          case 'status':
            h.onStatus(msg as unknown as TerminalStatusMessage);
            break;
          case 'size':
            h.onSize(Number(msg.cols), Number(msg.rows));
            break;
          case 'role':
            h.onRole(String(msg.role), Boolean(msg.canType));
            break;
          case 'error':
            h.onError(String(msg.code), String(msg.message ?? ''));
            break;
        }
      } else if (ev.data instanceof ArrayBuffer) {
        h.onOutput(new Uint8Array(ev.data));
      }
    };
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      const final = this.stopped || FINAL_CODES.has(ev.code);
      h.onClose(ev.code, ev.reason, final);
      if (!final) {
        this.timer = setTimeout(() => {
          this.timer = null;
          if (!this.stopped) this.open();
        }, this.backoff);
        this.backoff = Math.min(this.backoff * 2, MAX_BACKOFF_MS);
      }
    };
    ws.onerror = () => {
      /* onclose follows */
    };
  }

  private sendText(value: object) {
    if (this.ws && this.ws.readyState === 1) this.ws.send(JSON.stringify(value));
  }

  /** Keystrokes or a paste (raw bytes to the shell's TTY). */
  input(data: string | Uint8Array) {
    if (!this.ws || this.ws.readyState !== 1) return;
    this.ws.send(typeof data === 'string' ? this.encoder.encode(data) : data);
  }

  /** Our viewport; the most recent typist's wins on the server. */
  resize(cols: number, rows: number) {
    if (this.lastSize && this.lastSize.cols === cols && this.lastSize.rows === rows) return;
    this.lastSize = { cols, rows };
    this.sendText({ type: 'resize', cols, rows });
  }

  restart() {
    this.sendText({ type: 'restart' });
  }

  close() {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.ws?.close(1000, 'closed');
    this.ws = null;
  }
}
