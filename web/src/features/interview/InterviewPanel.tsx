// The interview beside the editor: the prompt for everyone who may see it, the timer, and the
// closing message; for interviewers also the switches, the waiting room, the guidance, the live
// integrity timeline, their private notes, their scorecard and the summary.
import { lazy, Suspense, useEffect, useMemo, useState } from 'react';
import { can, describeError, type Role } from '../../api';
import { toast } from '../../ui/toast';
import { interviewApi, type Interview, type SwitchesPatch } from './interviewApi';
import { renderMarkdown } from './markdown';
import IntegrityList from './IntegrityList';
import type { IntegrityTimeline } from './integrity';
import InterviewSummary from './InterviewSummary';
import ScorecardPanel from './ScorecardPanel';
import TestsPanel from './TestsPanel';
import { formatClock, timerValue } from './timer';
import type { InterviewState } from './useInterview';
import './interview.css';

// Only interviewers render it, so only they ever load its code and open its socket.
const InterviewNotes = lazy(() => import('./InterviewNotes'));

/** Minutes offered for a countdown. */
const COUNTDOWN_MINUTES = [15, 30, 45, 60, 90];

function Markdown(props: { text: string; testId: string }) {
  const html = useMemo(() => renderMarkdown(props.text), [props.text]);
  return <div className="markdown" data-testid={props.testId} dangerouslySetInnerHTML={{ __html: html }} />;
}

function InterviewTimer(props: { state: InterviewState }) {
  const { interview, skewMs } = props.state;
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    if (!interview.timer || interview.endedAtMs) return;
    const t = setInterval(() => setNow(Date.now()), 500);
    return () => clearInterval(t);
  }, [interview.timer, interview.endedAtMs]);
  if (!interview.timer) return null;
  const value = timerValue(interview.timer, now, skewMs, interview.endedAtMs);
  const countdown = interview.timer.mode === 'countdown';
  return (
    <span className={`chip${countdown && value === 0 ? ' chip-warn' : ''}`} data-testid="interview-timer" role="timer">
      {countdown ? `⏳ ${formatClock(value)} left` : `⏱ ${formatClock(value)}`}
    </span>
  );
}

function Switch(props: { label: string; on: boolean; busy: boolean; testId: string; onChange: (on: boolean) => void }) {
  return (
    <label className="row interview-switch">
      <input
        type="checkbox"
        checked={props.on}
        disabled={props.busy}
        data-testid={props.testId}
        onChange={(e) => props.onChange(e.target.checked)}
      />
      {props.label}
    </label>
  );
}

function Controls(props: { slug: string; interview: Interview }) {
  const { slug, interview } = props;
  const [busy, setBusy] = useState(false);
  const [minutes, setMinutes] = useState(COUNTDOWN_MINUTES[2]);
  const send = async (patch: SwitchesPatch | 'end') => {
    setBusy(true);
    try {
      if (patch === 'end') await interviewApi.end(slug);
      else await interviewApi.change(slug, patch);
    } catch (err) {
      toast(`Couldn't change the interview: ${describeError(err)}`, 'error');
    } finally {
      setBusy(false);
    }
  };
  if (interview.endedAtMs) return null;
  return (
    <section className="stack interview-controls" aria-label="Interviewer controls">
      <h3>Controls</h3>
      <Switch label="Lock the pad for the candidate" on={interview.locked} busy={busy} testId="switch-locked" onChange={(v) => send({ locked: v })} />
      <Switch label="Running code off" on={interview.runDisabled} busy={busy} testId="switch-run" onChange={(v) => send({ runDisabled: v })} />
      <Switch label="Terminal off" on={interview.terminalDisabled} busy={busy} testId="switch-terminal" onChange={(v) => send({ terminalDisabled: v })} />
      <Switch label="Hide the prompt" on={interview.promptHidden} busy={busy} testId="switch-prompt" onChange={(v) => send({ promptHidden: v })} />
      <div className="row wrap">
        <select className="input" value={minutes} onChange={(e) => setMinutes(Number(e.target.value))} aria-label="Countdown minutes">
          {COUNTDOWN_MINUTES.map((m) => (
            <option key={m} value={m}>
              {m} min
            </option>
          ))}
        </select>
        <button className="btn btn-small" disabled={busy} onClick={() => send({ timer: { mode: 'countdown', durationMs: minutes * 60_000 } })}>
          Start countdown
        </button>
        <button className="btn btn-small" disabled={busy} onClick={() => send({ timer: { mode: 'elapsed' } })}>
          Start stopwatch
        </button>
        {interview.timer && (
          <button className="btn btn-small btn-ghost" disabled={busy} onClick={() => send({ timer: { mode: 'off' } })}>
            Clear timer
          </button>
        )}
      </div>
      <button className="btn btn-danger" disabled={busy} data-testid="end-interview" onClick={() => send('end')}>
        End interview
      </button>
    </section>
  );
}

function WaitingList(props: { slug: string; interview: Interview }) {
  const waiting = props.interview.waiting ?? [];
  if (waiting.length === 0) return <p className="muted small">Nobody is waiting to be let in.</p>;
  const decide = async (userId: number, admit: boolean) => {
    try {
      await interviewApi.decide(props.slug, userId, admit);
    } catch (err) {
      toast(describeError(err), 'error');
    }
  };
  return (
    <ul className="stack interview-waiting" aria-label="Waiting room">
      {waiting.map((w) => (
        <li key={w.userId} className="row wrap" data-testid="waiting-person">
          <strong>{w.name}</strong>
          <span className="muted small">{w.status === 'waiting' ? 'is waiting' : 'was turned away'}</span>
          <button className="btn btn-primary btn-small" data-testid="admit" onClick={() => decide(w.userId, true)}>
            Let in
          </button>
          {w.status === 'waiting' && (
            <button className="btn btn-small" onClick={() => decide(w.userId, false)}>
              Turn away
            </button>
          )}
        </li>
      ))}
    </ul>
  );
}

/** Connects on first open, then stays live while the panel is shown. */
function NotesSection(props: { slug: string }) {
  const [opened, setOpened] = useState(false);
  return (
    <details className="interview-notes-section" data-testid="notes-toggle" onToggle={(e) => e.currentTarget.open && setOpened(true)}>
      <summary>Private notes (interviewers only)</summary>
      {opened && (
        <Suspense fallback={<p className="muted small">Loading notes…</p>}>
          <InterviewNotes slug={props.slug} />
        </Suspense>
      )}
    </details>
  );
}

/** The candidate's integrity reports, fetched again on every `integrity.reported`. */
function LiveIntegrity(props: { slug: string; version: number }) {
  const [timeline, setTimeline] = useState<IntegrityTimeline | null>(null);
  useEffect(() => {
    let live = true;
    interviewApi.integrity(props.slug).then(
      (t) => live && setTimeline(t),
      (err) => live && toast(`Couldn't load the integrity timeline: ${describeError(err)}`, 'error'),
    );
    return () => {
      live = false;
    };
  }, [props.slug, props.version]);
  return (
    <section className="stack" aria-label="Integrity timeline">
      <h3>Integrity timeline</h3>
      <IntegrityList timeline={timeline} testId="live-integrity" />
    </section>
  );
}

export default function InterviewPanel(props: { slug: string; state: InterviewState; role: Role }) {
  const { interview } = props.state;
  const interviewer = can.record(props.role);
  return (
    <div className="interview-panel stack" data-testid="interview-panel">
      <div className="row wrap">
        <h2 className="grow">{interview.title}</h2>
        <InterviewTimer state={props.state} />
      </div>
      {interview.endedAtMs && (
        <p className="alert alert-info" role="status" data-testid="interview-ended">
          {interviewer
            ? 'The interview has ended. The pad and its history stay.'
            : 'The interview has ended. Thank you! The pad is now read-only.'}
        </p>
      )}
      {!interview.endedAtMs && props.role === 'candidate' && interview.locked && (
        <p className="alert alert-warn" role="status" data-testid="interview-locked">
          The interviewer has paused editing.
        </p>
      )}
      {interview.prompt != null ? (
        <>
          {interviewer && interview.promptHidden && <p className="muted small">Hidden from the candidate.</p>}
          <Markdown text={interview.prompt} testId="interview-prompt" />
        </>
      ) : (
        <p className="muted" data-testid="prompt-hidden">
          The interviewer has hidden the prompt for now.
        </p>
      )}
      <TestsPanel slug={props.slug} role={props.role} ended={!!interview.endedAtMs} others={props.state.testsFinished} />
      {interviewer && (
        <>
          <section className="stack" aria-label="Waiting room">
            <h3>Waiting room</h3>
            <WaitingList slug={props.slug} interview={interview} />
          </section>
          <Controls slug={props.slug} interview={interview} />
          <LiveIntegrity slug={props.slug} version={props.state.integrityVersion} />
          {interview.guidance && (
            <details className="interview-guidance">
              <summary>Guidance (interviewers only)</summary>
              <Markdown text={interview.guidance} testId="interview-guidance" />
            </details>
          )}
          <NotesSection slug={props.slug} />
          <details className="interview-scorecard" data-testid="scorecard-toggle">
            <summary>Scorecard (interviewers only)</summary>
            <ScorecardPanel slug={props.slug} />
          </details>
          <InterviewSummary slug={props.slug} />
        </>
      )}
    </div>
  );
}
