// The interviewers' private notes: a Markdown text co-edited live, in a Yjs document of its own
// on `/ws/pad/{slug}/notes` — never the pad's document, so the candidate's socket cannot carry it.
// InterviewPanel loads this module lazily and only for interviewers: a candidate's page never
// fetches it.
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from 'react';
import * as awarenessProtocol from 'y-protocols/awareness';
import * as Y from 'yjs';
import { PadProvider, padSocketUrl, type ConnectionStatus } from '../../collab/provider';
import { session } from '../auth/session';
import { renderMarkdown } from './markdown';
import { mapThroughDelta, spliceBetween, utf8Bytes, type DeltaOp } from './notesText';

/** `ws(s)://<host>/ws/pad/<slug>/notes`: the same auth as the pad socket, the token never in the URL. */
export function notesSocketUrl(slug: string, loc: { protocol: string; host: string } = window.location): string {
  return `${padSocketUrl(slug, loc)}/notes`;
}

interface Ready {
  text: Y.Text;
  maxBytes: number;
}

const STATUS_WORDS: Record<ConnectionStatus, string> = {
  connecting: 'Connecting…',
  syncing: 'Syncing…',
  live: 'Live',
  reconnecting: 'Reconnecting…',
  offline: 'Offline: your notes are kept and sent when you are back',
  closed: 'Closed: you may no longer see the notes',
};

export default function InterviewNotes(props: { slug: string }) {
  const [ready, setReady] = useState<Ready | null>(null);
  const [text, setText] = useState('');
  const [status, setStatus] = useState<ConnectionStatus>('connecting');
  const [others, setOthers] = useState<string[]>([]);
  const [tooLong, setTooLong] = useState(false);
  const [preview, setPreview] = useState(false);
  const area = useRef<HTMLTextAreaElement>(null);
  /** The caret to restore once a remote change has been rendered. */
  const caret = useRef<{ start: number; end: number } | null>(null);

  useEffect(() => {
    const doc = new Y.Doc();
    const awareness = new awarenessProtocol.Awareness(doc);
    awareness.setLocalState({});
    const provider = new PadProvider(doc, { url: notesSocketUrl(props.slug), getToken: () => session.token(), awareness });
    let unobserve = () => {};
    const offApp = provider.on('app', (msg) => {
      if (msg.type !== 'notes.ready' || typeof msg.root !== 'string') return;
      unobserve();
      const ytext = doc.getText(msg.root);
      const onChange = (event: Y.YTextEvent) => {
        const el = area.current;
        if (!event.transaction.local && el && document.activeElement === el) {
          const delta = event.delta as DeltaOp[];
          caret.current = { start: mapThroughDelta(el.selectionStart, delta), end: mapThroughDelta(el.selectionEnd, delta) };
        }
        setText(ytext.toString());
      };
      ytext.observe(onChange);
      unobserve = () => ytext.unobserve(onChange);
      setText(ytext.toString());
      setReady({ text: ytext, maxBytes: typeof msg.maxBytes === 'number' ? msg.maxBytes : Infinity });
    });
    const offStatus = provider.on('status', setStatus);
    const onAwareness = () => {
      const names: string[] = [];
      awareness.getStates().forEach((state, clientId) => {
        const user = (state as { user?: { name?: unknown } }).user;
        if (clientId !== doc.clientID && typeof user?.name === 'string' && !names.includes(user.name)) names.push(user.name);
      });
      setOthers(names);
    };
    awareness.on('change', onAwareness);
    return () => {
      unobserve();
      offApp();
      offStatus();
      awareness.off('change', onAwareness);
      provider.destroy();
      awareness.destroy();
      doc.destroy();
      setReady(null);
    };
  }, [props.slug]);

  useLayoutEffect(() => {
    const el = area.current;
    if (caret.current && el) el.setSelectionRange(caret.current.start, caret.current.end);
    caret.current = null;
  }, [text]);

  const onInput = (value: string) => {
    if (!ready) return;
    // The server closes a socket whose update would pass the limit; refuse it here instead.
    if (utf8Bytes(value) > ready.maxBytes) {
      setTooLong(true);
      return;
    }
    setTooLong(false);
    const splice = spliceBetween(ready.text.toString(), value);
    if (!splice) return;
    ready.text.doc?.transact(() => {
      if (splice.remove > 0) ready.text.delete(splice.index, splice.remove);
      if (splice.insert) ready.text.insert(splice.index, splice.insert);
    });
  };

  const html = useMemo(() => (preview ? renderMarkdown(text) : ''), [preview, text]);
  return (
    <div className="stack interview-notes" data-testid="notes">
      <div className="row wrap">
        <span className="muted small grow" data-testid="notes-status">
          {STATUS_WORDS[status]}
          {others.length > 0 && ` · also here: ${others.join(', ')}`}
        </span>
        <button className="btn btn-small" aria-pressed={preview} data-testid="notes-preview-toggle" onClick={() => setPreview((p) => !p)}>
          {preview ? 'Edit' : 'Preview'}
        </button>
      </div>
      {preview ? (
        <div className="markdown" data-testid="notes-preview" dangerouslySetInnerHTML={{ __html: html }} />
      ) : (
        <textarea
          ref={area}
          className="input interview-notes-text"
          data-testid="notes-text"
          aria-label="Private notes (Markdown)"
          placeholder="Markdown notes only interviewers see"
          disabled={!ready || status === 'closed'}
          value={text}
          onChange={(e) => onInput(e.target.value)}
        />
      )}
      {tooLong && (
        <p className="alert alert-warn small" role="status">
          The notes are at their size limit; that change was not kept.
        </p>
      )}
    </div>
  );
}
