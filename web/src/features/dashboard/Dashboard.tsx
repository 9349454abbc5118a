import { useEffect, useMemo, useRef, useState, type FormEvent } from 'react';
import { Link, useNavigate } from 'react-router-dom';
import { api, describeError, type PadKind, type PadSummary } from '../../api';
import { AppHeader } from '../../ui/Header';
import { LockIcon } from '../../ui/icons';
import { ConfirmDialog } from '../../ui/Modal';
import { ErrorMessage, Kbd, Loading, timeAgo, useLoad } from '../../ui/common';
import { toast } from '../../ui/toast';
import { languageName } from '../pad/languages';
import { useLanguages } from '../pad/useLanguages';

function slugOf(res: unknown): string | undefined {
  const r = res as { pad?: { slug?: string }; slug?: string };
  return r?.pad?.slug ?? r?.slug;
}

function CreatePadCard(props: { onCreated: (slug: string) => void }) {
  const languages = useLanguages();
  const [title, setTitle] = useState('');
  const [language, setLanguage] = useState('python');
  const [kind, setKind] = useState<PadKind>('sandbox');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const titleRef = useRef<HTMLInputElement>(null);

  // "N" focuses the form (when not typing somewhere else).
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key !== 'n' && e.key !== 'N') return;
      if (e.ctrlKey || e.metaKey || e.altKey) return;
      const t = e.target as HTMLElement;
      if (t.closest('input, textarea, select, [contenteditable="true"]')) return;
      e.preventDefault();
      titleRef.current?.focus();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const res = await api.pads.create({ title: title.trim() || undefined, language, kind });
      const slug = slugOf(res);
      if (!slug) throw new Error('The server created the pad but did not say where it is.');
      props.onCreated(slug);
    } catch (err) {
      setError(describeError(err));
      setBusy(false);
    }
  };

  return (
    <form className="card stack create-card" onSubmit={submit} aria-labelledby="new-pad-title">
      <div className="row between">
        <h2 id="new-pad-title">New pad</h2>
        <span className="muted small">
          press <Kbd>N</Kbd>
        </span>
      </div>
      <div className="grid-form">
        <label>
          <span>Title</span>
          <input
            ref={titleRef}
            className="input"
            placeholder="Untitled pad"
            maxLength={120}
            value={title}
            onChange={(e) => setTitle(e.target.value)}
          />
        </label>
        <label>
          <span>Language</span>
          <select className="input" value={language} onChange={(e) => setLanguage(e.target.value)}>
            {languages.map((l) => (
              <option key={l.id} value={l.id}>
                {l.name}
              </option>
            ))}
          </select>
        </label>
      </div>
      <fieldset className="kind-tiles">
        <legend>Kind</legend>
        {(
          [
            ['sandbox', 'Sandbox', 'Free-form coding'],
            ['interview', 'Interview', 'A candidate codes, you watch'],
          ] as const
        ).map(([value, label, hint]) => (
          <label key={value} className={`tile${kind === value ? ' tile-active' : ''}`}>
            <input type="radio" name="kind" value={value} checked={kind === value} onChange={() => setKind(value)} />
            <strong>{label}</strong>
            <span className="muted small">{hint}</span>
          </label>
        ))}
      </fieldset>
      {error && (
        <p className="alert alert-error" role="alert">
          {error}
        </p>
      )}
      <div>
        <button className="btn btn-primary" type="submit" disabled={busy}>
          {busy ? 'Creating…' : 'Create pad →'}
        </button>
      </div>
    </form>
  );
}

function PadRow(props: { pad: PadSummary; onRenamed: (p: PadSummary) => void; onDelete: () => void }) {
  const { pad } = props;
  const languages = useLanguages();
  const [editing, setEditing] = useState(false);
  const [title, setTitle] = useState(pad.title);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const owner = pad.myRole === 'owner';

  const save = async () => {
    const next = title.trim();
    if (!next || next === pad.title) {
      setEditing(false);
      setTitle(pad.title);
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const res = await api.pads.update(pad.slug, { title: next });
      props.onRenamed({ ...pad, ...(res?.pad ?? {}), title: res?.pad?.title ?? next });
      setEditing(false);
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <li className="pad-row card" data-testid="pad-row">
      <div className="pad-row-main">
        {editing ? (
          <form
            className="row"
            onSubmit={(e) => {
              e.preventDefault();
              void save();
            }}
          >
            <label className="sr-only" htmlFor={`rename-${pad.slug}`}>
              Pad title
            </label>
            <input
              id={`rename-${pad.slug}`}
              className="input"
              value={title}
              autoFocus
              maxLength={120}
              onChange={(e) => setTitle(e.target.value)}
              onKeyDown={(e) => {
                if (e.key === 'Escape') {
                  setEditing(false);
                  setTitle(pad.title);
                }
              }}
            />
            <button className="btn btn-small btn-primary" disabled={busy} type="submit">
              Save
            </button>
            <button
              className="btn btn-small"
              type="button"
              onClick={() => {
                setEditing(false);
                setTitle(pad.title);
              }}
            >
              Cancel
            </button>
          </form>
        ) : (
          <Link className="pad-title" to={`/p/${pad.slug}`}>
            {pad.title || 'Untitled pad'}
          </Link>
        )}
        <div className="row wrap small muted">
          <span className={`chip chip-role-${pad.myRole}`}>{pad.myRole}</span>
          <span className="mono">{languageName(pad.language, languages)}</span>
          <span className="chip">{pad.kind}</span>
          {pad.hasPassword && (
            <span className="chip" title="Password protected">
              <LockIcon /> password
            </span>
          )}
          <span title={pad.updatedAt}>changed {timeAgo(pad.updatedAt)}</span>
        </div>
        {error && (
          <p className="alert alert-error" role="alert">
            {error}
          </p>
        )}
      </div>
      <div className="row pad-row-actions">
        <Link className="btn btn-small" to={`/p/${pad.slug}`}>
          Open
        </Link>
        {owner && !editing && (
          <button className="btn btn-small" onClick={() => setEditing(true)}>
            Rename
          </button>
        )}
        {owner && (
          <button className="btn btn-small btn-danger-ghost" onClick={props.onDelete}>
            Delete
          </button>
        )}
      </div>
    </li>
  );
}

export default function Dashboard() {
  const navigate = useNavigate();
  const pads = useLoad(() => api.pads.list().then((r) => r.pads ?? []), []);
  const [filter, setFilter] = useState('');
  const [toDelete, setToDelete] = useState<PadSummary | null>(null);
  const [deleting, setDeleting] = useState(false);
  const [deleteError, setDeleteError] = useState<string | null>(null);

  const visible = useMemo(() => {
    const list = [...(pads.data ?? [])].sort((a, b) => (b.updatedAt ?? '').localeCompare(a.updatedAt ?? ''));
    const q = filter.trim().toLowerCase();
    return q ? list.filter((p) => `${p.title} ${p.language} ${p.kind} ${p.myRole}`.toLowerCase().includes(q)) : list;
  }, [pads.data, filter]);

  return (
    <>
      <AppHeader />
      <main className="page">
        <div className="dashboard">
          <div className="stack">
            <CreatePadCard onCreated={(slug) => navigate(`/p/${slug}`)} />
            <Link className="btn" to="/questions" data-testid="question-bank-link">
              Question bank: interviews from your questions
            </Link>
          </div>
          <section className="stack" aria-labelledby="your-pads">
            <div className="row between wrap">
              <h1 id="your-pads">
                Your pads {pads.data && <span className="muted count">({pads.data.length})</span>}
              </h1>
              {pads.data && pads.data.length > 3 && (
                <input
                  className="input search"
                  type="search"
                  placeholder="Filter pads…"
                  aria-label="Filter pads"
                  value={filter}
                  onChange={(e) => setFilter(e.target.value)}
                />
              )}
            </div>
            {pads.loading && !pads.data ? (
              <Loading label="Loading your pads…" />
            ) : pads.error ? (
              <ErrorMessage error={pads.error} title="Couldn't load your pads." onRetry={pads.reload} />
            ) : visible.length === 0 ? (
              <div className="card empty">
                {pads.data && pads.data.length > 0 ? (
                  <p>No pad matches “{filter}”.</p>
                ) : (
                  <>
                    <p>
                      <strong>No pads yet.</strong>
                    </p>
                    <p className="muted">
                      Create one with the form, then use <em>Share</em> to invite people — or open an invite link someone
                      sent you.
                    </p>
                  </>
                )}
              </div>
            ) : (
              <ul className="pad-list">
                {visible.map((p) => (
                  <PadRow
                    key={p.slug}
                    pad={p}
                    onRenamed={(np) => pads.setData((prev) => (prev ?? []).map((x) => (x.slug === np.slug ? np : x)))}
                    onDelete={() => {
                      setDeleteError(null);
                      setToDelete(p);
                    }}
                  />
                ))}
              </ul>
            )}
          </section>
        </div>
      </main>
      {toDelete && (
        <ConfirmDialog
          title="Delete pad?"
          confirmLabel="Delete pad"
          danger
          busy={deleting}
          error={deleteError}
          onCancel={() => setToDelete(null)}
          onConfirm={async () => {
            setDeleting(true);
            setDeleteError(null);
            try {
              await api.pads.remove(toDelete.slug);
              pads.setData((prev) => (prev ?? []).filter((x) => x.slug !== toDelete.slug));
              toast(`Deleted “${toDelete.title}”`, 'success');
              setToDelete(null);
            } catch (err) {
              setDeleteError(describeError(err));
            } finally {
              setDeleting(false);
            }
          }}
        >
          <p>
            “<strong>{toDelete.title}</strong>” and all its files, chat and history will be deleted for everyone. This
            can't be undone.
          </p>
        </ConfirmDialog>
      )}
    </>
  );
}
