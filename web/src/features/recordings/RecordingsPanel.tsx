// The Recordings side panel (SPEC §7) and the "● Recording" header indicator. Everything comes
// from the workspace's RecordingsWatcher; actions call the REST API and show failures in words.
import { useEffect, useState, type FormEvent } from 'react';
import { Link } from 'react-router-dom';
import { api, can, describeError, type RecordingView, type Role } from '../../api';
import { ErrorMessage, Spinner } from '../../ui/common';
import { saveBlob } from '../../ui/download';
import { ConfirmDialog } from '../../ui/Modal';
import { Store, useStore } from '../../ui/store';
import { toast } from '../../ui/toast';
import { formatClock, formatInstant, formatSpan } from './format';
import { activeRecording, type RecordingsState, type RecordingsWatcher } from './recordingsWatcher';

/** Re-render every second while `on` (live durations). */
function useNow(on: boolean): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    if (!on) return;
    setNow(Date.now());
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, [on]);
  return now;
}

export function playbackPath(slug: string, id: number, offsetMs?: number): string {
  const base = `/p/${encodeURIComponent(slug)}/recordings/${id}`;
  return offsetMs != null && offsetMs > 0 ? `${base}?t=${Math.round(offsetMs)}` : base;
}

/**
 * Shown in the pad header while a recording is active. With the list (roles that may watch) it
 * shows the elapsed time and opens the panel; without it (candidates) it relies on the server's
 * `recordings.changed` push and only says that the session is being recorded.
 */
export function RecordingIndicator(props: {
  watcher: RecordingsWatcher | null;
  pushed: { id: number | null; at: number } | null;
  onOpen: () => void;
}) {
  const recordings = useStore(props.watcher?.store ?? EMPTY_STORE, (s) => s.recordings);
  const listed = props.watcher ? activeRecording(recordings) : null;
  const pushedActive = !props.watcher && props.pushed?.id != null;
  const now = useNow(!!listed);
  if (listed) {
    const elapsed = formatClock(Math.max(0, now - listed.startedAt));
    return (
      <button
        className="rec-indicator"
        onClick={props.onOpen}
        data-testid="recording-indicator"
        title={`“${listed.name}” is recording${listed.autoStarted ? ' (auto-record)' : ''}. Everything on this pad is kept for playback.`}
        aria-label={`Recording in progress, ${elapsed}. Open recordings.`}
      >
        <span className="rec-dot" aria-hidden="true" /> Recording <span className="mono">{elapsed}</span>
      </button>
    );
  }
  if (!pushedActive) return null;
  return (
    <span className="rec-indicator" role="status" data-testid="recording-indicator" title="This session is being recorded: the code, runs, chat and terminal output are kept for playback.">
      <span className="rec-dot" aria-hidden="true" /> Recording
    </span>
  );
}

const EMPTY_STORE = new Store<RecordingsState>({ recordings: [], autoRecord: false, loaded: false, error: null, forbidden: false });

async function exportRecording(slug: string, rec: RecordingView) {
  try {
    const { blob, filename } = await api.recordings.exportFile(slug, rec.id);
    saveBlob(blob, filename ?? `recording-${slug}-${rec.id}.json`);
  } catch (err) {
    toast(`Couldn't export “${rec.name}”: ${describeError(err)}`, 'error');
  }
}

function RecordingRow(props: {
  slug: string;
  rec: RecordingView;
  now: number;
  canDelete: boolean;
  onDelete: (rec: RecordingView) => void;
}) {
  const { rec, slug } = props;
  const [exporting, setExporting] = useState(false);
  const duration = rec.active ? props.now - rec.startedAt : rec.durationMs ?? 0;
  return (
    <li className="rec-row" data-testid="recording-row" data-active={rec.active ? 'true' : 'false'}>
      <div className="row between">
        <Link className="rec-name" to={playbackPath(slug, rec.id)} title="Watch this recording">
          {rec.name}
        </Link>
        {rec.active ? (
          <span className="chip chip-bad" data-testid="recording-status">
            <span className="pulse" aria-hidden="true" /> live
          </span>
        ) : (
          <span className="chip" data-testid="recording-status" title={rec.stopReason ? `Stopped (${rec.stopReason})` : 'Stopped'}>
            stopped
          </span>
        )}
      </div>
      <div className="small muted">
        {formatInstant(rec.startedAt)} · {formatSpan(duration)}
        {rec.createdBy ? ` · by ${rec.createdBy.name}` : ''}
        {rec.autoStarted ? ' · auto' : ''}
        {!rec.active && rec.stopReason === 'idle' ? ' · stopped when everyone left' : ''}
      </div>
      <div className="row wrap">
        <Link className="btn btn-small" to={playbackPath(slug, rec.id)}>
          ▶ Watch
        </Link>
        <button
          className="btn btn-small btn-ghost"
          disabled={exporting}
          onClick={async () => {
            setExporting(true);
            await exportRecording(slug, rec);
            setExporting(false);
          }}
          title="Download the recording as JSON"
        >
          {exporting ? 'Exporting…' : 'Export'}
        </button>
        {props.canDelete && (
          <button className="btn btn-small btn-danger-ghost" onClick={() => props.onDelete(rec)} aria-label={`Delete ${rec.name}`}>
            Delete
          </button>
        )}
      </div>
    </li>
  );
}

export function RecordingsPanel(props: { slug: string; role: Role; watcher: RecordingsWatcher }) {
  const { slug, role, watcher } = props;
  const recordings = useStore(watcher.store, (s) => s.recordings);
  const autoRecord = useStore(watcher.store, (s) => s.autoRecord);
  const loaded = useStore(watcher.store, (s) => s.loaded);
  const error = useStore(watcher.store, (s) => s.error);
  const forbidden = useStore(watcher.store, (s) => s.forbidden);
  const active = activeRecording(recordings);
  const now = useNow(!!active);
  const [name, setName] = useState('');
  const [starting, setStarting] = useState(false);
  const [stopping, setStopping] = useState(false);
  const [actionError, setActionError] = useState<string | null>(null);
  const [autoBusy, setAutoBusy] = useState(false);
  const [toDelete, setToDelete] = useState<RecordingView | null>(null);
  const [deleting, setDeleting] = useState(false);
  const [deleteError, setDeleteError] = useState<string | null>(null);
  const canRecord = can.record(role);
  const owner = can.manage(role);

  useEffect(() => {
    void watcher.refresh();
  }, [watcher]);

  const start = async (e: FormEvent) => {
    e.preventDefault();
    setStarting(true);
    setActionError(null);
    try {
      const { recording } = await api.recordings.start(slug, name.trim() || undefined);
      watcher.adopt(recording);
      setName('');
      toast('Recording started. Everything on this pad is kept for playback until you stop it.', 'success');
    } catch (err) {
      setActionError(`Couldn't start recording: ${describeError(err)}`);
      void watcher.refresh();
    } finally {
      setStarting(false);
    }
  };

  const stop = async (rec: RecordingView) => {
    setActionError(null);
    setStopping(true);
    try {
      const { recording } = await api.recordings.stop(slug, rec.id);
      watcher.adopt(recording);
      toast(`Stopped “${recording.name}” (${formatSpan(recording.durationMs ?? 0)}).`, 'success');
    } catch (err) {
      setActionError(`Couldn't stop “${rec.name}”: ${describeError(err)}`);
      void watcher.refresh();
    } finally {
      setStopping(false);
    }
  };

  const toggleAuto = async (on: boolean) => {
    setAutoBusy(true);
    setActionError(null);
    try {
      const res = await api.recordings.setAutoRecord(slug, on);
      watcher.setAutoRecord(res.autoRecord);
      toast(
        res.autoRecord
          ? 'Auto-record is on: recording starts when someone joins and stops 5 minutes after everyone has left.'
          : 'Auto-record is off.',
        'success',
      );
      void watcher.refresh();
    } catch (err) {
      setActionError(`Couldn't change auto-record: ${describeError(err)}`);
    } finally {
      setAutoBusy(false);
    }
  };

  const confirmDelete = async () => {
    if (!toDelete) return;
    setDeleting(true);
    setDeleteError(null);
    try {
      await api.recordings.remove(slug, toDelete.id);
      watcher.forget(toDelete.id);
      toast(`Deleted “${toDelete.name}”.`, 'success');
      setToDelete(null);
    } catch (err) {
      setDeleteError(describeError(err));
    } finally {
      setDeleting(false);
    }
  };

  if (forbidden || !can.watchPlayback(role)) {
    return (
      <div className="rec-panel">
        <div className="panel-head">
          <h2>Recordings</h2>
        </div>
        <p className="muted small rec-note">Your role on this pad can't see or watch recordings.</p>
      </div>
    );
  }

  return (
    <div className="rec-panel" data-testid="recordings-panel">
      <div className="panel-head">
        <h2>
          Recordings <span className="muted">({recordings.length})</span>
        </h2>
        {!loaded && <Spinner />}
      </div>
      <div className="rec-controls stack">
        {owner && (
          <label className="check small" title="Start recording when the first person joins; stop once everyone has been gone 5 minutes">
            <input type="checkbox" checked={autoRecord} disabled={autoBusy} onChange={(e) => void toggleAuto(e.target.checked)} />
            Auto-record when people join
          </label>
        )}
        {!owner && autoRecord && <p className="small muted">Auto-record is on for this pad.</p>}
        {canRecord && !active && (
          <form className="row" onSubmit={start}>
            <label className="sr-only" htmlFor="recording-name">
              Recording name
            </label>
            <input
              id="recording-name"
              className="input input-small grow"
              placeholder="Name (optional)"
              maxLength={100}
              value={name}
              onChange={(e) => setName(e.target.value)}
            />
            <button className="btn btn-small btn-primary" type="submit" disabled={starting}>
              {starting ? 'Starting…' : '● Start recording'}
            </button>
          </form>
        )}
        {active && (
          <div className="rec-live row between">
            <span className="small">
              <span className="rec-dot" aria-hidden="true" /> Recording “{active.name}” · {formatClock(now - active.startedAt)}
            </span>
            {canRecord && (
              <button className="btn btn-small" disabled={stopping} onClick={() => void stop(active)}>
                {stopping ? 'Stopping…' : '■ Stop'}
              </button>
            )}
          </div>
        )}
        {!canRecord && <p className="small muted">You can watch and export recordings; owners and collaborators start and stop them.</p>}
        {actionError && (
          <p className="alert alert-error small" role="alert">
            {actionError}
          </p>
        )}
        {error && <ErrorMessage error={new Error(`Couldn't refresh the list: ${error}`)} onRetry={() => void watcher.refresh()} />}
      </div>
      {loaded && recordings.length === 0 && !error && (
        <p className="muted small rec-note">
          No recordings yet.{' '}
          {canRecord ? 'Start one to replay this session later — code, runs, chat and terminal output.' : ''}
          {owner ? ' Or turn on auto-record.' : ''}
        </p>
      )}
      <ul className="rec-list">
        {recordings.map((rec) => (
          <RecordingRow
            key={rec.id}
            slug={slug}
            rec={rec}
            now={now}
            canDelete={owner}
            onDelete={(r) => {
              setDeleteError(null);
              setToDelete(r);
            }}
          />
        ))}
      </ul>
      {toDelete && (
        <ConfirmDialog
          title="Delete recording?"
          confirmLabel="Delete"
          danger
          busy={deleting}
          error={deleteError}
          onConfirm={() => void confirmDelete()}
          onCancel={() => setToDelete(null)}
        >
          <p>
            “{toDelete.name}” will no longer be listed or watchable. The pad itself — its code, chat and history — is not
            changed.
          </p>
        </ConfirmDialog>
      )}
    </div>
  );
}
