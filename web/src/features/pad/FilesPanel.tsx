import { useMemo, useRef, useState, type FormEvent } from 'react';
import { api, describeError, type Language, type PadFile } from '../../api';
import { TrashIcon } from '../../ui/icons';
import { ConfirmDialog } from '../../ui/Modal';
import { useStore } from '../../ui/store';
import { languageForFileName } from './languages';
import type { PadSession } from './padSession';

const NAME_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$/;

/** Client-side check mirroring SPEC §3 (the server checks again). */
export function fileNameProblem(name: string, existing: string[], current?: string): string | null {
  if (!name) return 'Enter a file name.';
  if (!NAME_RE.test(name) || name.includes('..'))
    return 'Use letters, digits, "_", "-" and "." (no spaces or slashes; must not start with "." or "-").';
  if (name !== current && existing.includes(name)) return 'A file with that name already exists.';
  return null;
}

function NameInput(props: {
  initial: string;
  placeholder?: string;
  existing: string[];
  current?: string;
  label: string;
  onSubmit: (name: string) => Promise<void>;
  onCancel: () => void;
}) {
  const [value, setValue] = useState(props.initial);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const done = useRef(false);

  const commit = async () => {
    if (done.current || busy) return;
    const name = value.trim();
    if (props.current != null && name === props.current) {
      done.current = true;
      props.onCancel();
      return;
    }
    const problem = fileNameProblem(name, props.existing, props.current);
    if (problem) {
      setError(problem);
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await props.onSubmit(name);
      done.current = true;
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form
      className="file-name-form"
      onSubmit={(e: FormEvent) => {
        e.preventDefault();
        void commit();
      }}
    >
      <input
        className="input input-small mono"
        aria-label={props.label}
        autoFocus
        value={value}
        placeholder={props.placeholder}
        disabled={busy}
        spellCheck={false}
        onChange={(e) => {
          setValue(e.target.value);
          setError(null);
        }}
        onFocus={(e) => {
          // Select the stem, not the extension, when renaming.
          const dot = e.target.value.lastIndexOf('.');
          if (dot > 0) e.target.setSelectionRange(0, dot);
        }}
        onKeyDown={(e) => {
          if (e.key === 'Escape') {
            e.preventDefault();
            done.current = true;
            props.onCancel();
          }
        }}
        // Clicking away keeps the edit (commits) instead of silently dropping it.
        onBlur={() => {
          if (!done.current && value.trim() && !error) void commit();
          else if (!value.trim()) {
            done.current = true;
            props.onCancel();
          }
        }}
      />
      {error && (
        <p className="field-error" role="alert">
          {error}
        </p>
      )}
    </form>
  );
}

export function FilesPanel(props: { session: PadSession; canEdit: boolean; languages: Language[]; padLanguage: string }) {
  const { session, canEdit, languages } = props;
  const files = useStore(session.store, (s) => s.files);
  const active = useStore(session.store, (s) => s.activeFile);
  const peers = useStore(session.store, (s) => s.peers);
  const [creating, setCreating] = useState(false);
  const [renaming, setRenaming] = useState<number | null>(null);
  const [toDelete, setToDelete] = useState<PadFile | null>(null);
  const [deleteBusy, setDeleteBusy] = useState(false);
  const [deleteError, setDeleteError] = useState<string | null>(null);
  const names = useMemo(() => files.map((f) => f.name), [files]);

  const peersByFile = useMemo(() => {
    const map = new Map<string, { name: string; color: string; key: number }[]>();
    for (const p of peers) {
      if (p.self || !p.file) continue;
      const list = map.get(p.file) ?? [];
      list.push({ name: p.name, color: p.color, key: p.clientId });
      map.set(p.file, list);
    }
    return map;
  }, [peers]);

  const ext = languages.find((l) => l.id === props.padLanguage)?.extensions?.[0] ?? 'txt';

  return (
    <nav className="files-panel" aria-label="Files">
      <div className="panel-head">
        <h2>Files</h2>
        {canEdit && (
          <button className="btn-icon" aria-label="New file" title="New file" onClick={() => setCreating(true)} disabled={creating}>
            +
          </button>
        )}
      </div>
      <ul className="file-list">
        {files.map((f) => {
          const here = peersByFile.get(f.name) ?? [];
          return (
            <li key={f.id} className={`file-item${f.name === active ? ' active' : ''}`}>
              {renaming === f.id ? (
                <NameInput
                  initial={f.name}
                  current={f.name}
                  existing={names}
                  label={`New name for ${f.name}`}
                  onCancel={() => setRenaming(null)}
                  onSubmit={async (name) => {
                    await api.files.update(session.slug, f.id, { name });
                    if (session.state.activeFile === f.name) session.setActiveFile(name);
                    setRenaming(null);
                    await session.refreshFiles();
                  }}
                />
              ) : (
                <>
                  <button
                    className="file-button mono"
                    aria-current={f.name === active ? 'true' : undefined}
                    onClick={() => session.setActiveFile(f.name)}
                    onDoubleClick={() => canEdit && setRenaming(f.id)}
                    title={f.name}
                  >
                    {f.name}
                  </button>
                  {here.length > 0 && (
                    <span className="file-peers" title={here.map((h) => h.name).join(', ')} aria-label={`Here: ${here.map((h) => h.name).join(', ')}`}>
                      {here.slice(0, 3).map((h) => (
                        <span key={h.key} className="peer-dot" style={{ background: h.color }} />
                      ))}
                      {here.length > 3 && <span className="small muted">+{here.length - 3}</span>}
                    </span>
                  )}
                  {canEdit && (
                    <span className="file-actions">
                      <button className="btn-icon btn-tiny" aria-label={`Rename ${f.name}`} title="Rename" onClick={() => setRenaming(f.id)}>
                        ✎
                      </button>
                      <button
                        className="btn-icon btn-tiny"
                        aria-label={`Delete ${f.name}`}
                        title={files.length <= 1 ? 'The last file cannot be deleted' : 'Delete'}
                        disabled={files.length <= 1}
                        onClick={() => {
                          setDeleteError(null);
                          setToDelete(f);
                        }}
                      >
                        <TrashIcon />
                      </button>
                    </span>
                  )}
                </>
              )}
            </li>
          );
        })}
        {creating && (
          <li className="file-item">
            <NameInput
              initial=""
              placeholder={`name.${ext}`}
              existing={names}
              label="New file name"
              onCancel={() => setCreating(false)}
              onSubmit={async (name) => {
                const language = languageForFileName(name, languages);
                await api.files.create(session.slug, { name, language });
                setCreating(false);
                await session.refreshFiles();
                session.setActiveFile(name);
              }}
            />
          </li>
        )}
      </ul>
      {toDelete && (
        <ConfirmDialog
          title={`Delete ${toDelete.name}?`}
          confirmLabel="Delete file"
          danger
          busy={deleteBusy}
          error={deleteError}
          onCancel={() => setToDelete(null)}
          onConfirm={async () => {
            setDeleteBusy(true);
            setDeleteError(null);
            try {
              await api.files.remove(session.slug, toDelete.id);
              setToDelete(null);
              await session.refreshFiles();
            } catch (err) {
              setDeleteError(describeError(err));
            } finally {
              setDeleteBusy(false);
            }
          }}
        >
          <p>
            <span className="mono">{toDelete.name}</span> and its contents are deleted for everyone on this pad.
          </p>
        </ConfirmDialog>
      )}
    </nav>
  );
}
