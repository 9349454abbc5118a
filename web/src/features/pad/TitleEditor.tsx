import { useEffect, useRef, useState, type FormEvent } from 'react';
import { api, describeError } from '../../api';
import { useStore } from '../../ui/store';
import type { PadSession } from './padSession';

/** The pad's title in the header; who may edit renames it in place (Enter or blur saves, Escape cancels). */
export function TitleEditor(props: { session: PadSession; canEdit: boolean }) {
  const title = useStore(props.session.store, (s) => s.pad.title);
  const [editing, setEditing] = useState(false);
  const [value, setValue] = useState(title);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const cancelled = useRef(false);

  useEffect(() => {
    if (!editing) setValue(title);
  }, [title, editing]);

  const save = async () => {
    if (cancelled.current) {
      cancelled.current = false;
      return;
    }
    const next = value.trim();
    if (!next || next === title) {
      setEditing(false);
      setValue(title);
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const res = await api.pads.update(props.session.slug, { title: next });
      props.session.store.set((s) => ({ pad: { ...s.pad, ...(res?.pad ?? { title: next }) } }));
      setEditing(false);
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  };

  if (!editing) {
    return (
      <div className="pad-title-wrap">
        <h1 className="pad-title-text" title={title}>
          {title || 'Untitled pad'}
        </h1>
        {props.canEdit && (
          <button className="btn-icon" aria-label="Rename pad" title="Rename pad" onClick={() => setEditing(true)}>
            ✎
          </button>
        )}
      </div>
    );
  }
  return (
    <form
      className="row"
      onSubmit={(e: FormEvent) => {
        e.preventDefault();
        void save();
      }}
    >
      <label className="sr-only" htmlFor="pad-title-input">
        Pad title
      </label>
      <input
        id="pad-title-input"
        className="input"
        autoFocus
        value={value}
        maxLength={120}
        disabled={busy}
        onChange={(e) => setValue(e.target.value)}
        onBlur={() => void save()}
        onKeyDown={(e) => {
          if (e.key === 'Escape') {
            cancelled.current = true;
            setEditing(false);
            setValue(title);
            setError(null);
          }
        }}
      />
      {error && (
        <span className="alert alert-error small" role="alert">
          {error}
        </span>
      )}
    </form>
  );
}
