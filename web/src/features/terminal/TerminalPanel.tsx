// The pad's shared terminal (SPEC §6), rendered with xterm.js. Self-contained: it opens its own
// socket (`terminalSocket.ts`) and brings its own styles; the pad page only mounts it.
//
// Props:
//   slug       the pad's slug (the socket is /ws/pad/{slug}/terminal on this host)
//   getToken   returns the session token (offered as the `oc.bearer.<token>` subprotocol; the
//              cookie is the fallback for same-origin pages); called on every (re)connect
//   theme?     'dark' (default) | 'light'
//   onClose?   shows a close button that calls it (e.g. to hide the panel)
//   className? extra class on the outer element (size it from outside: the panel fills it)
//
// Everyone on the pad sees the same shell. The server decides who may type: viewers see a
// "watching" badge and their keystrokes are not sent. The TTY has one size for everyone (the
// most recent typist's); this panel renders at that size and reports its own viewport size.
// Shown states: starting, running, exited (with code), idle timeout, lifetime reached — with a
// Restart button for those who may type. A loud banner appears when the server runs shells on
// its own host (development fallback without isolation).

import { useEffect, useRef, useState } from 'react';
import { Terminal } from '@xterm/xterm';
import { FitAddon } from '@xterm/addon-fit';
import '@xterm/xterm/css/xterm.css';
import { TerminalSocket, terminalUrl, type TerminalState, type TerminalStatusMessage } from './terminalSocket';

export interface TerminalPanelProps {
  slug: string;
  getToken: () => string | null;
  theme?: 'dark' | 'light';
  onClose?: () => void;
  className?: string;
}

const THEMES = {
  dark: { background: '#1e1e1e', foreground: '#d4d4d4', cursor: '#d4d4d4', selectionBackground: '#264f78' },
  light: { background: '#ffffff', foreground: '#1e1e1e', cursor: '#1e1e1e', selectionBackground: '#add6ff' },
};

function describe(state: TerminalState, status: TerminalStatusMessage | null): string {
  switch (state) {
    case 'connecting':
      return 'Connecting…';
    case 'starting':
      return 'Starting sandbox…';
    case 'running':
      return 'Running';
    case 'exited':
      if (status?.message) return `Stopped: ${status.message}`;
      return status?.code != null ? `Shell exited (code ${status.code})` : 'Shell exited';
    case 'idle_timeout':
      return `Stopped after ${Math.round((status?.idleMs ?? 0) / 60000)} min without input`;
    case 'max_lifetime':
      return `Stopped: reached the ${Math.round((status?.maxMs ?? 0) / 60000)} min limit`;
    case 'closed':
      return 'Disconnected';
  }
}

export function TerminalPanel({ slug, getToken, theme = 'dark', onClose, className }: TerminalPanelProps) {
  const hostRef = useRef<HTMLDivElement>(null);
  const termRef = useRef<Terminal | null>(null);
  const socketRef = useRef<TerminalSocket | null>(null);
  const canTypeRef = useRef(false);
  const getTokenRef = useRef(getToken);
  getTokenRef.current = getToken;

  const [state, setState] = useState<TerminalState>('connecting');
  const [status, setStatus] = useState<TerminalStatusMessage | null>(null);
  const [canType, setCanType] = useState(false);
  const [notice, setNotice] = useState<string | null>(null);
  const [closedReason, setClosedReason] = useState<string | null>(null);

  useEffect(() => {
    const host = hostRef.current;
    if (!host) return;
    const term = new Terminal({
      convertEol: false,
      cursorBlink: true,
      fontFamily: 'ui-monospace, SFMono-Regular, Menlo, Consolas, monospace',
      fontSize: 13,
      scrollback: 5000,
      theme: THEMES[theme],
    });
    const fit = new FitAddon();
    term.loadAddon(fit);
    term.open(host);
    termRef.current = term;

    let noticeTimer: ReturnType<typeof setTimeout> | null = null;
    const flash = (text: string) => {
      setNotice(text);
      if (noticeTimer) clearTimeout(noticeTimer);
      noticeTimer = setTimeout(() => setNotice(null), 4000);
    };

    const socket = new TerminalSocket({
      url: terminalUrl(slug),
      getToken: () => getTokenRef.current(),
      handlers: {
        onOpen: () => {
          setClosedReason(null);
          term.reset();
        },
        onOutput: (data) => term.write(data),
        onStatus: (s) => {
          setStatus(s);
          setState(s.state);
        },
        // Everyone renders at the shared TTY size.
        onSize: (cols, rows) => {
          if (term.cols !== cols || term.rows !== rows) term.resize(cols, rows);
        },
        onRole: (_role, may) => {
          canTypeRef.current = may;
          setCanType(may);
        },
        onError: (code, message) => {
          if (code === 'read_only') flash('You are watching: your role may not type in the terminal.');
          else if (code === 'not_running') flash('The terminal is stopped. Restart it to get a new shell.');
          else flash(message || code);
        },
        onClose: (code, reason, final) => {
          setState('closed');
          if (final) {
            setClosedReason(
              code === 4003 ? 'You no longer have access to this pad.'
              : code === 4004 ? 'This pad was deleted.'
              : code === 4001 ? 'Your session ended; sign in again.'
              : reason || `Closed (${code}).`,
            );
          }
        },
      },
    });
    socketRef.current = socket;

    const input = term.onData((data) => {
      if (canTypeRef.current) socket.input(data);
    });
    const binary = term.onBinary((data) => {
      if (!canTypeRef.current) return;
      const bytes = new Uint8Array(data.length);
      for (let i = 0; i < data.length; i++) bytes[i] = data.charCodeAt(i) & 0xff;
      socket.input(bytes);
    });

    // Report our viewport (what fits in the panel); the server decides the shared size.
    const report = () => {
      const dims = fit.proposeDimensions();
      if (dims && Number.isFinite(dims.cols) && Number.isFinite(dims.rows) && dims.cols > 1 && dims.rows > 0) {
        socket.resize(dims.cols, dims.rows);
      }
    };
    const observer = new ResizeObserver(() => report());
    observer.observe(host);
    report();

    return () => {
      observer.disconnect();
      input.dispose();
      binary.dispose();
      if (noticeTimer) clearTimeout(noticeTimer);
      socket.close();
      term.dispose();
      termRef.current = null;
      socketRef.current = null;
    };
  }, [slug]); // eslint-disable-line react-hooks/exhaustive-deps

  useEffect(() => {
    if (termRef.current) termRef.current.options.theme = THEMES[theme];
  }, [theme]);

  const stopped = state === 'exited' || state === 'idle_timeout' || state === 'max_lifetime';
  const palette = THEMES[theme];

  return (
    <section
      className={className}
      aria-label="Terminal"
      data-testid="terminal-panel"
      style={{ display: 'flex', flexDirection: 'column', height: '100%', minHeight: 0, background: palette.background }}
    >
      {status?.local && (
        <div role="alert" style={{ background: '#b00020', color: '#fff', padding: '4px 8px', fontWeight: 600, fontSize: 12 }}>
          This server runs terminals directly on its host, without a sandbox (development mode).
        </div>
      )}
      <div
        style={{
          display: 'flex',
          alignItems: 'center',
          gap: 8,
          padding: '4px 8px',
          fontSize: 12,
          color: palette.foreground,
          borderBottom: '1px solid rgba(128,128,128,0.3)',
        }}
      >
        <strong>Terminal</strong>
        <span data-testid="terminal-state" aria-live="polite">
          {closedReason ?? describe(state, status)}
        </span>
        {!canType && state !== 'connecting' && (
          <span title="Your role may watch the terminal but not type" style={{ opacity: 0.7 }}>
            · watching
          </span>
        )}
        {notice && <span style={{ color: '#e5a50a' }}>{notice}</span>}
        <span style={{ flex: 1 }} />
        {canType && (stopped || state === 'running') && (
          <button type="button" className="btn" onClick={() => socketRef.current?.restart()} data-testid="terminal-restart">
            {stopped ? 'Restart' : 'Restart shell'}
          </button>
        )}
        {onClose && (
          <button type="button" className="btn-icon" aria-label="Close terminal" onClick={onClose}>
            ×
          </button>
        )}
      </div>
      <div ref={hostRef} style={{ flex: 1, minHeight: 0, overflow: 'auto', padding: 4 }} />
    </section>
  );
}

export default TerminalPanel;
