// The operator's admin page (`/admin`): users, pads, sandboxes, sign-up, storage and the audit log.
// Shown only to admins; the server refuses every call of anyone else anyway (403 `admin_only`).
import { useState, type FormEvent, type ReactNode } from 'react';
import { Link } from 'react-router-dom';
import { describeError, isApiError } from '../../api';
import { AppHeader } from '../../ui/Header';
import { ConfirmDialog } from '../../ui/Modal';
import { ErrorMessage, Loading, timeAgo, useLoad } from '../../ui/common';
import { toast } from '../../ui/toast';
import { useUser } from '../auth/session';
import {
  adminApi,
  formatBytes,
  PAGE_SIZE,
  SIGNUP_MODES,
  type AdminPadRow,
  type AdminUserRow,
  type AuditFilters,
  type AuditRowView,
  type ChainStatus,
  type SignupMode,
} from './adminApi';
import './admin.css';

const TABS = ['Users', 'Pads', 'Sandboxes', 'Sign-up', 'Storage', 'Audit'] as const;
type Tab = (typeof TABS)[number];

/** An action waiting for its confirmation dialog. */
interface Pending {
  title: string;
  body: ReactNode;
  label: string;
  run: () => Promise<unknown>;
  done: string;
}

/** One confirmation dialog per tab: the action runs on confirm; its error stays in the dialog. */
function useConfirm(onDone: () => void) {
  const [pending, setPending] = useState<Pending | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const ask = (p: Pending) => {
    setError(null);
    setPending(p);
  };
  const dialog = pending && (
    <ConfirmDialog
      title={pending.title}
      confirmLabel={pending.label}
      danger
      busy={busy}
      error={error}
      onCancel={() => setPending(null)}
      onConfirm={async () => {
        setBusy(true);
        try {
          await pending.run();
          toast(pending.done, 'success');
          setPending(null);
          onDone();
        } catch (err) {
          setError(describeError(err));
        } finally {
          setBusy(false);
        }
      }}
    >
      {pending.body}
    </ConfirmDialog>
  );
  return { ask, dialog };
}

function SearchBox(props: { label: string; onSearch: (value: string) => void }) {
  const [value, setValue] = useState('');
  const submit = (e: FormEvent) => {
    e.preventDefault();
    props.onSearch(value.trim());
  };
  return (
    <form className="row" onSubmit={submit} role="search">
      <input
        className="input"
        aria-label={props.label}
        placeholder={props.label}
        value={value}
        onChange={(e) => setValue(e.target.value)}
      />
      <button className="btn" type="submit">
        Search
      </button>
    </form>
  );
}

function Pager(props: { offset: number; total: number; onMove: (offset: number) => void }) {
  const last = Math.min(props.offset + PAGE_SIZE, props.total);
  return (
    <div className="row between admin-pager">
      <span className="muted small">
        {props.total === 0 ? 'No matches' : `${props.offset + 1}–${last} of ${props.total}`}
      </span>
      <div className="row">
        <button className="btn" disabled={props.offset === 0} onClick={() => props.onMove(Math.max(0, props.offset - PAGE_SIZE))}>
          Previous
        </button>
        <button className="btn" disabled={last >= props.total} onClick={() => props.onMove(props.offset + PAGE_SIZE)}>
          Next
        </button>
      </div>
    </div>
  );
}

function UsersTab() {
  const [search, setSearch] = useState('');
  const [offset, setOffset] = useState(0);
  const users = useLoad(() => adminApi.users(search, offset), [search, offset]);
  const { ask, dialog } = useConfirm(users.reload);
  const [renaming, setRenaming] = useState<AdminUserRow | null>(null);
  const [newName, setNewName] = useState('');
  const rename = (u: AdminUserRow) => {
    setNewName(u.name);
    setRenaming(u);
  };
  return (
    <section className="stack" aria-label="Users">
      <SearchBox
        label="Search names"
        onSearch={(value) => {
          setOffset(0);
          setSearch(value);
        }}
      />
      {users.error ? <ErrorMessage error={users.error} onRetry={users.reload} /> : null}
      {users.loading && !users.data ? <Loading /> : null}
      {users.data && (
        <>
          <table className="admin-table">
            <thead>
              <tr>
                <th>Name</th>
                <th>Created</th>
                <th>Pads</th>
                <th>Status</th>
                <th>Actions</th>
              </tr>
            </thead>
            <tbody>
              {users.data.items.map((u) => (
                <tr key={u.id} data-testid={`admin-user-${u.id}`}>
                  <td>
                    {u.name} <span className="muted small">#{u.id}</span>
                  </td>
                  <td title={u.createdAt}>{timeAgo(u.createdAt)}</td>
                  <td>{u.padsOwned}</td>
                  <td>
                    {u.isAdmin && <span className="chip">admin</span>}{' '}
                    {u.disabled && <span className="chip chip-bad">disabled</span>}
                  </td>
                  <td>
                    <div className="row wrap">
                      <button className="btn btn-small" onClick={() => rename(u)}>
                        Rename
                      </button>
                      {u.disabled ? (
                        <button
                          className="btn btn-small"
                          onClick={() =>
                            ask({
                              title: `Enable ${u.name}?`,
                              body: <p>They can sign in again with their recovery key.</p>,
                              label: 'Enable',
                              run: () => adminApi.enableUser(u.id),
                              done: `${u.name} is enabled`,
                            })
                          }
                        >
                          Enable
                        </button>
                      ) : (
                        <button
                          className="btn btn-small"
                          onClick={() =>
                            ask({
                              title: `Disable ${u.name}?`,
                              body: <p>They are signed out everywhere at once and cannot sign in until enabled again.</p>,
                              label: 'Disable',
                              run: () => adminApi.disableUser(u.id),
                              done: `${u.name} is disabled`,
                            })
                          }
                        >
                          Disable
                        </button>
                      )}
                      <button
                        className="btn btn-small"
                        onClick={() =>
                          ask({
                            title: `End every session of ${u.name}?`,
                            body: <p>Every device they are signed in on is signed out; they can sign in again.</p>,
                            label: 'End sessions',
                            run: () => adminApi.endSessions(u.id),
                            done: `${u.name} is signed out everywhere`,
                          })
                        }
                      >
                        End sessions
                      </button>
                      <button
                        className="btn btn-small btn-danger"
                        onClick={() =>
                          ask({
                            title: `Delete ${u.name}?`,
                            body: <p>The account and the {u.padsOwned} pad(s) it owns are deleted for good.</p>,
                            label: 'Delete account',
                            run: () => adminApi.deleteUser(u.id),
                            done: `${u.name} is deleted`,
                          })
                        }
                      >
                        Delete
                      </button>
                    </div>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <Pager offset={offset} total={users.data.total} onMove={setOffset} />
        </>
      )}
      {renaming &&
        (() => {
          const target = renaming;
          return (
            <ConfirmDialog
              title={`Rename ${target.name}`}
              confirmLabel="Rename"
              onCancel={() => setRenaming(null)}
              onConfirm={() =>
                adminApi.renameUser(target.id, newName).then(
                  () => {
                    toast(`Renamed to ${newName.trim()}`, 'success');
                    setRenaming(null);
                    users.reload();
                  },
                  (err) => toast(describeError(err), 'error'),
                )
              }
            >
              <label className="stack">
                <span>New name</span>
                <input className="input" value={newName} maxLength={60} onChange={(e) => setNewName(e.target.value)} />
              </label>
            </ConfirmDialog>
          );
        })()}
      {dialog}
    </section>
  );
}

function lastActivity(p: AdminPadRow): string {
  return p.lastEditAtMs != null ? timeAgo(new Date(p.lastEditAtMs).toISOString()) : timeAgo(p.updatedAt);
}

function PadsTab() {
  const [search, setSearch] = useState('');
  const [offset, setOffset] = useState(0);
  const pads = useLoad(() => adminApi.pads(search, offset), [search, offset]);
  const { ask, dialog } = useConfirm(pads.reload);
  return (
    <section className="stack" aria-label="Pads">
      <SearchBox
        label="Search titles, slugs, owners"
        onSearch={(value) => {
          setOffset(0);
          setSearch(value);
        }}
      />
      {pads.error ? <ErrorMessage error={pads.error} onRetry={pads.reload} /> : null}
      {pads.loading && !pads.data ? <Loading /> : null}
      {pads.data && (
        <>
          <table className="admin-table">
            <thead>
              <tr>
                <th>Pad</th>
                <th>Owner</th>
                <th>Kind</th>
                <th>Document</th>
                <th>History</th>
                <th>Last activity</th>
                <th>Actions</th>
              </tr>
            </thead>
            <tbody>
              {pads.data.items.map((p) => (
                <tr key={p.id}>
                  <td>
                    {p.title} <span className="muted small">{p.slug}</span>
                  </td>
                  <td>{p.ownerName}</td>
                  <td>{p.kind}</td>
                  <td>{formatBytes(p.documentBytes)}</td>
                  <td>{formatBytes(p.historyBytes)}</td>
                  <td>{lastActivity(p)}</td>
                  <td>
                    <button
                      className="btn btn-small btn-danger"
                      onClick={() =>
                        ask({
                          title: `Delete “${p.title}”?`,
                          body: <p>The pad, its history, chat and recordings are deleted; everyone on it is disconnected.</p>,
                          label: 'Delete pad',
                          run: () => adminApi.deletePad(p.slug),
                          done: `“${p.title}” is deleted`,
                        })
                      }
                    >
                      Delete
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <Pager offset={offset} total={pads.data.total} onMove={setOffset} />
        </>
      )}
      {dialog}
    </section>
  );
}

function SandboxesTab() {
  const boxes = useLoad(() => adminApi.sandboxes(), []);
  const { ask, dialog } = useConfirm(boxes.reload);
  return (
    <section className="stack" aria-label="Sandboxes">
      <div className="row between">
        <p className="muted small">
          {boxes.data ? `Runs and terminals on ${boxes.data.nodes.length} node(s): ${boxes.data.nodes.join(', ')}.` : ''}
        </p>
        <button className="btn" onClick={boxes.reload}>
          Refresh
        </button>
      </div>
      {boxes.error ? <ErrorMessage error={boxes.error} onRetry={boxes.reload} /> : null}
      {boxes.loading && !boxes.data ? <Loading /> : null}
      {boxes.data && (
        <>
          <h3>Runs in progress</h3>
          {boxes.data.runs.length === 0 ? (
            <p className="muted">No run is in progress.</p>
          ) : (
            <table className="admin-table">
              <thead>
                <tr>
                  <th>Pad</th>
                  <th>Kind</th>
                  <th>Started</th>
                  <th>Node</th>
                  <th>Actions</th>
                </tr>
              </thead>
              <tbody>
                {boxes.data.runs.map((r) => (
                  <tr key={r.runId}>
                    <td>
                      {r.title} <span className="muted small">{r.slug}</span>
                    </td>
                    <td>{r.kind}</td>
                    <td>{timeAgo(new Date(r.startedAtMs).toISOString())}</td>
                    <td className="muted small">{r.node}</td>
                    <td>
                      <button
                        className="btn btn-small btn-danger"
                        onClick={() =>
                          ask({
                            title: 'Stop this run?',
                            body: <p>Its container is removed; the pad sees that an operator stopped it.</p>,
                            label: 'Stop run',
                            run: () => adminApi.stopRun(r.runId),
                            done: 'The run is stopping',
                          })
                        }
                      >
                        Stop
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          <h3>Terminals</h3>
          {boxes.data.terminals.length === 0 ? (
            <p className="muted">No terminal is running.</p>
          ) : (
            <table className="admin-table">
              <tbody>
                {boxes.data.terminals.map((t) => (
                  <tr key={t.pad}>
                    <td>
                      {t.title} <span className="muted small">{t.slug}</span>
                    </td>
                    <td className="muted small">{t.node}</td>
                    <td>
                      <button
                        className="btn btn-small btn-danger"
                        onClick={() =>
                          ask({
                            title: 'Stop this terminal?',
                            body: <p>Its shell and container end and everyone watching it is disconnected.</p>,
                            label: 'Stop terminal',
                            run: () => adminApi.stopTerminal(t.slug),
                            done: 'The terminal is stopped',
                          })
                        }
                      >
                        Stop
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </>
      )}
      {dialog}
    </section>
  );
}

const MODE_TEXT: Record<SignupMode, string> = {
  open: 'Open: anyone can create an account.',
  closed: 'Closed: nobody can create an account.',
  'invite-only': 'Invite-only: only someone holding a live pad invite can create an account.',
};

function SignupTab() {
  const current = useLoad(() => adminApi.signup(), []);
  const [choice, setChoice] = useState<SignupMode | null>(null);
  const { ask, dialog } = useConfirm(current.reload);
  const selected = choice ?? current.data?.mode ?? 'open';
  return (
    <section className="stack" aria-label="Sign-up">
      {current.error ? <ErrorMessage error={current.error} onRetry={current.reload} /> : null}
      {current.data && (
        <>
          <p data-testid="signup-mode">Sign-up is {current.data.mode}.</p>
          <fieldset className="stack">
            <legend>Who may sign up</legend>
            {SIGNUP_MODES.map((mode) => (
              <label key={mode} className="row">
                <input type="radio" name="signup-mode" value={mode} checked={selected === mode} onChange={() => setChoice(mode)} />
                <span>{MODE_TEXT[mode]}</span>
              </label>
            ))}
          </fieldset>
          <div className="row">
            <button
              className="btn btn-primary"
              disabled={selected === current.data.mode}
              onClick={() =>
                ask({
                  title: `Make sign-up ${selected}?`,
                  body: <p>{MODE_TEXT[selected]} Every server node applies it at once.</p>,
                  label: 'Save',
                  run: () => adminApi.setSignup(selected),
                  done: `Sign-up is ${selected}`,
                })
              }
            >
              Save
            </button>
          </div>
        </>
      )}
      {dialog}
    </section>
  );
}

function StorageTab() {
  const storage = useLoad(() => adminApi.storage(), []);
  if (storage.error) return <ErrorMessage error={storage.error} onRetry={storage.reload} />;
  if (!storage.data) return <Loading />;
  const s = storage.data;
  return (
    <section className="stack" aria-label="Storage">
      <dl className="admin-figures">
        <dt>Database</dt>
        <dd>{formatBytes(s.databaseBytes)}</dd>
        <dt>Recordings</dt>
        <dd>{formatBytes(s.recordingsBytes)}</dd>
        <dt>Runner image</dt>
        <dd>{s.runnerImage ? 'present on every Docker engine' : 'missing: runs cannot start'}</dd>
      </dl>
      <h3>Largest pad histories</h3>
      <table className="admin-table">
        <tbody>
          {s.largestPads.map((p) => (
            <tr key={p.id}>
              <td>
                {p.title} <span className="muted small">{p.slug}</span>
              </td>
              <td>{p.ownerName}</td>
              <td>{formatBytes(p.historyBytes)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function AuditTab() {
  const [draft, setDraft] = useState<AuditFilters>({});
  const [filters, setFilters] = useState<AuditFilters>({});
  const [older, setOlder] = useState<AuditRowView[]>([]);
  const [more, setMore] = useState<boolean | null>(null);
  const [chain, setChain] = useState<ChainStatus | null>(null);
  const [error, setError] = useState<string | null>(null);
  const first = useLoad(() => adminApi.audit(filters, null), [filters]);
  const rows = [...(first.data?.rows ?? []), ...older];
  const hasMore = more ?? first.data?.hasMore ?? false;
  const apply = (e: FormEvent) => {
    e.preventDefault();
    setOlder([]);
    setMore(null);
    setFilters({ ...draft });
  };
  const loadOlder = async () => {
    const last = rows[rows.length - 1];
    try {
      const page = await adminApi.audit(filters, last ? last.id : null);
      setOlder((prev) => [...prev, ...page.rows]);
      setMore(page.hasMore);
    } catch (err) {
      setError(describeError(err));
    }
  };
  const field = (key: keyof AuditFilters, label: string, type = 'text') => (
    <label className="stack">
      <span className="small">{label}</span>
      <input
        className="input"
        type={type}
        value={draft[key] ?? ''}
        onChange={(e) => setDraft((d) => ({ ...d, [key]: e.target.value }))}
      />
    </label>
  );
  return (
    <section className="stack" aria-label="Audit log">
      <form className="row wrap admin-filters" onSubmit={apply}>
        {field('action', 'Action')}
        {field('user', 'User id')}
        {field('pad', 'Pad slug')}
        {field('since', 'From', 'datetime-local')}
        {field('until', 'Until', 'datetime-local')}
        <button className="btn" type="submit">
          Filter
        </button>
        <button
          className="btn"
          type="button"
          onClick={() => adminApi.verifyAudit().then(setChain, (err) => setError(describeError(err)))}
        >
          Verify chain
        </button>
      </form>
      {chain && (
        <p className={chain.intact ? 'alert' : 'alert alert-error'} role="status" data-testid="audit-chain">
          {chain.intact
            ? `The chain is intact: ${chain.rows} rows, head ${chain.head.slice(0, 16)}…`
            : `The chain is broken at row ${chain.brokenId}: ${chain.brokenReason}.`}
        </p>
      )}
      {error && (
        <p className="alert alert-error" role="alert">
          {error}
        </p>
      )}
      {first.error ? <ErrorMessage error={first.error} onRetry={first.reload} /> : null}
      {first.loading && !first.data ? <Loading /> : null}
      <table className="admin-table">
        <thead>
          <tr>
            <th>When</th>
            <th>Action</th>
            <th>User</th>
            <th>Target</th>
            <th>Details</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.id}>
              <td title={r.at}>{r.at}</td>
              <td>{r.action}</td>
              <td>{r.user_id ?? (r.user_agent === 'opencoder admin' ? 'CLI' : '—')}</td>
              <td>{r.target ?? ''}</td>
              <td className="admin-meta">{r.meta == null ? '' : JSON.stringify(r.meta)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {hasMore && (
        <button className="btn" onClick={() => void loadOlder()}>
          Load older
        </button>
      )}
    </section>
  );
}

function NotAllowed() {
  return (
    <main className="page narrow" data-testid="admin-not-allowed">
      <h1>Not allowed</h1>
      <p className="muted">Only this server's operators can open the admin page.</p>
      <Link className="btn btn-primary" to="/dashboard">
        Back to your pads
      </Link>
    </main>
  );
}

export default function AdminPage() {
  const user = useUser();
  const [tab, setTab] = useState<Tab>('Users');
  // The account may have lost the role since the session was loaded: a 403 says so too.
  const probe = useLoad(() => adminApi.signup(), []);
  const refused = isApiError(probe.error) && probe.error.status === 403;
  if (!user?.isAdmin || refused) {
    return (
      <>
        <AppHeader />
        <NotAllowed />
      </>
    );
  }
  return (
    <>
      <AppHeader />
      <main className="page stack">
        <h1>Administration</h1>
        <div className="row wrap admin-tabs" role="tablist">
          {TABS.map((t) => (
            <button key={t} role="tab" aria-selected={tab === t} className={tab === t ? 'btn btn-primary' : 'btn'} onClick={() => setTab(t)}>
              {t}
            </button>
          ))}
        </div>
        {tab === 'Users' && <UsersTab />}
        {tab === 'Pads' && <PadsTab />}
        {tab === 'Sandboxes' && <SandboxesTab />}
        {tab === 'Sign-up' && <SignupTab />}
        {tab === 'Storage' && <StorageTab />}
        {tab === 'Audit' && <AuditTab />}
      </main>
    </>
  );
}
