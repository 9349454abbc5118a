import { useLayoutEffect, useRef, useState, type FormEvent } from 'react';
import { useStore } from '../../ui/store';
import { useUser } from '../auth/session';
import type { PadSession } from '../pad/padSession';

const MAX_CHARS = 2000;

function timeOf(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? '' : d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

export function ChatPanel(props: { session: PadSession }) {
  const { session } = props;
  const me = useUser();
  const messages = useStore(session.store, (s) => s.messages);
  const pending = useStore(session.store, (s) => s.pending);
  const status = useStore(session.store, (s) => s.status);
  // Closed for good (removed, signed out, pad deleted): no reconnect is coming.
  const closed = useStore(session.store, (s) => s.closeReason !== null);
  const hasMore = useStore(session.store, (s) => s.hasMoreHistory);
  const historyError = useStore(session.store, (s) => s.historyError);
  const historyLoading = useStore(session.store, (s) => s.historyLoading);
  const colors = useStore(session.store, (s) => s.presence);
  const [text, setText] = useState('');
  const [notice, setNotice] = useState<string | null>(null);
  const listRef = useRef<HTMLDivElement>(null);
  const stick = useRef(true);
  const connected = status === 'live' || status === 'syncing';

  useLayoutEffect(() => {
    const el = listRef.current;
    if (el && stick.current) el.scrollTop = el.scrollHeight;
  }, [messages, pending]);

  const send = (e?: FormEvent) => {
    e?.preventDefault();
    const body = text.trim();
    if (!body) return;
    if (body.length > MAX_CHARS) {
      setNotice(`Messages are limited to ${MAX_CHARS} characters (this one has ${body.length}).`);
      return;
    }
    if (session.sendChat(body)) {
      setText('');
      setNotice(null);
      stick.current = true;
    } else {
      // Keep the text: nothing is lost while the connection is down.
      setNotice("Not sent: you're not connected. Your message is kept here; send it again once you're back online.");
    }
  };

  const colorOf = (userId: number) => colors.find((c) => c.userId === userId)?.color;

  return (
    <div className="chat-panel">
      <div
        className="chat-list"
        ref={listRef}
        role="log"
        aria-label="Chat messages"
        onScroll={(e) => {
          const el = e.currentTarget;
          stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < 30;
        }}
      >
        {hasMore && (
          <button className="btn btn-ghost btn-small" onClick={() => void session.loadHistory(true)} disabled={historyLoading}>
            {historyLoading ? 'Loading…' : 'Load earlier messages'}
          </button>
        )}
        {historyError && (
          <div className="alert alert-error small" role="alert">
            Couldn't load chat history: {historyError}
            <button className="btn btn-small" onClick={() => void session.loadHistory(messages.length > 0)}>
              Try again
            </button>
          </div>
        )}
        {messages.length === 0 && pending.length === 0 && !historyLoading && !historyError && (
          <p className="muted small center-text">No messages yet. Say hi!</p>
        )}
        {messages.map((m, i) => {
          const prev = messages[i - 1];
          const grouped = prev && prev.userId === m.userId && Date.parse(m.at) - Date.parse(prev.at) < 5 * 60_000;
          const mine = m.userId === me?.id;
          return (
            <div key={m.id} className={`chat-msg${mine ? ' mine' : ''}`} data-testid="chat-message">
              {!grouped && (
                <div className="chat-meta">
                  <span className="chat-name" style={{ color: colorOf(m.userId) }}>
                    {mine ? `${m.name} (you)` : m.name}
                  </span>
                  <time className="muted small" dateTime={m.at}>
                    {timeOf(m.at)}
                  </time>
                </div>
              )}
              <div className="chat-body">{m.body}</div>
            </div>
          );
        })}
        {pending.map((p) => (
          <div key={`p${p.localId}`} className={`chat-msg mine pending${p.failed ? ' failed' : ''}`}>
            <div className="chat-body">{p.body}</div>
            {p.failed ? (
              <div className="small chat-failed" role="alert">
                {p.failed}{' '}
                <button className="link-button" onClick={() => session.retryChat(p.localId)}>
                  Retry
                </button>{' '}
                ·{' '}
                <button className="link-button" onClick={() => session.discardChat(p.localId)}>
                  Discard
                </button>
              </div>
            ) : (
              <div className="small muted">sending…</div>
            )}
          </div>
        ))}
      </div>
      <form className="chat-form" onSubmit={send}>
        {notice && (
          <p className="alert alert-warn small" role="alert">
            {notice}
          </p>
        )}
        <label htmlFor="chat-input" className="sr-only">
          Message
        </label>
        <textarea
          id="chat-input"
          className="input"
          rows={2}
          placeholder={
            closed
              ? 'Chat is closed: you are no longer connected to this pad'
              : connected
                ? 'Message… (Enter to send, Shift+Enter for a new line)'
                : 'Reconnecting… you can type, then send when back'
          }
          disabled={closed}
          value={text}
          onChange={(e) => setText(e.target.value)}
          onKeyDown={(e) => {
            if (e.key === 'Enter' && !e.shiftKey && !e.nativeEvent.isComposing) {
              e.preventDefault();
              send();
            }
          }}
        />
        <div className="row between">
          <span className={`small ${text.length > MAX_CHARS ? 'danger-text' : 'muted'}`}>
            {text.length > MAX_CHARS * 0.8 ? `${text.length}/${MAX_CHARS}` : ''}
          </span>
          <button className="btn btn-primary btn-small" type="submit" disabled={closed || !text.trim()}>
            Send
          </button>
        </div>
      </form>
    </div>
  );
}
