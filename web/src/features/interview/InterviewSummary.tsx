// The debrief in the Interview panel (issue 13 §4): every scorecard the server lets me see (the
// others' only once mine is submitted), the run history, the recordings to watch, the final files;
// the candidate client's integrity reports; plus the Markdown and JSON downloads of the same.
import { useCallback, useState } from 'react';
import { Link } from 'react-router-dom';
import { describeError } from '../../api';
import { saveBlob } from '../../ui/download';
import { toast } from '../../ui/toast';
import IntegrityList from './IntegrityList';
import { interviewApi, RECOMMENDATIONS, type InterviewSummary as Summary, type Scorecard } from './interviewApi';
import { ResultRow } from './TestsPanel';

const RECOMMENDATION_LABEL = Object.fromEntries(RECOMMENDATIONS.map((r) => [r.value, r.label]));

const time = (ms: number) => new Date(ms).toLocaleString();

/** The mean rating of a scorecard's rated criteria, one decimal. */
function meanRating(card: Scorecard): string {
  const ratings = card.sections.flatMap((s) => s.criteria.map((c) => c.rating)).filter((r): r is number => r != null);
  return ratings.length ? (ratings.reduce((a, b) => a + b, 0) / ratings.length).toFixed(1) : '—';
}

/** Download the summary (what this interviewer may see of it) as Markdown or JSON. */
async function exportSummary(slug: string, format: 'markdown' | 'json') {
  try {
    if (format === 'markdown') {
      const { blob, filename } = await interviewApi.summaryMarkdown(slug);
      saveBlob(blob, filename ?? `interview-${slug}.md`);
    } else {
      const summary = await interviewApi.summary(slug);
      saveBlob(new Blob([JSON.stringify(summary, null, 2)], { type: 'application/json' }), `interview-${slug}.json`);
    }
  } catch (err) {
    toast(`Couldn't export the summary: ${describeError(err)}`, 'error');
  }
}

export default function InterviewSummary(props: { slug: string }) {
  const { slug } = props;
  const [summary, setSummary] = useState<Summary | null>(null);
  const load = useCallback(() => {
    interviewApi.summary(slug).then(setSummary, (err) => toast(`Couldn't load the summary: ${describeError(err)}`, 'error'));
  }, [slug]);
  const cards = summary ? [summary.scorecards.mine, ...summary.scorecards.others].filter((c): c is Scorecard => !!c) : [];
  const hidden = summary && !summary.scorecards.mine?.submittedAtMs ? summary.scorecards.othersSubmitted : 0;
  return (
    <details className="interview-summary" data-testid="summary-toggle" onToggle={(e) => e.currentTarget.open && load()}>
      <summary>Summary (interviewers only)</summary>
      <div className="row wrap">
        <button className="btn btn-small btn-ghost" onClick={load}>
          Refresh
        </button>
        <button className="btn btn-small" data-testid="summary-markdown" onClick={() => exportSummary(slug, 'markdown')}>
          Download Markdown
        </button>
        <button className="btn btn-small" data-testid="summary-json" onClick={() => exportSummary(slug, 'json')}>
          Download JSON
        </button>
      </div>
      {summary && (
        <div className="stack" data-testid="summary">
          {summary.takehome && (
            <section className="stack" data-testid="summary-takehome">
              <h4>Take-home</h4>
              <p className="small">
                Passed{' '}
                <strong data-testid="summary-takehome-passed">
                  {summary.takehome.passed}/{summary.takehome.total}
                </strong>
                {summary.takehome.timeTakenMs != null && ` · took ${Math.round(summary.takehome.timeTakenMs / 60_000)} min`}
                {summary.takehome.results.length === 0 && ' · grading…'}
              </p>
              <ul className="summary-list">
                {summary.takehome.results.map((r) => (
                  <ResultRow key={r.index} result={r} />
                ))}
              </ul>
            </section>
          )}
          <h4>Scorecards</h4>
          {cards.length === 0 && <p className="muted small">No scorecards yet.</p>}
          <ul className="summary-list">
            {cards.map((card) => (
              <li key={card.userId} data-testid="summary-scorecard">
                <strong>{card.name}</strong>: {card.recommendation ? RECOMMENDATION_LABEL[card.recommendation] : '—'}, mean{' '}
                {meanRating(card)}/4{card.submittedAtMs ? '' : ' (draft)'}
              </li>
            ))}
          </ul>
          {hidden > 0 && <p className="muted small">{hidden} more once you submit yours.</p>}
          <h4>Runs</h4>
          {summary.runs.length === 0 && <p className="muted small">No runs.</p>}
          <ul className="summary-list">
            {summary.runs.map((run) => (
              <li key={run.runId} data-testid="summary-run">
                {time(run.startedAtMs)} · {run.userName ?? 'a deleted user'} ran {run.entry}: {run.outcome}
                {run.exitCode != null ? ` (exit ${run.exitCode})` : ''}
              </li>
            ))}
          </ul>
          <h4>Recordings</h4>
          {summary.recordings.length === 0 && <p className="muted small">No recordings.</p>}
          <ul className="summary-list">
            {summary.recordings.map((rec) => (
              <li key={rec.id}>
                <Link to={rec.playbackPath} data-testid="summary-playback">
                  {rec.name}
                </Link>{' '}
                <span className="muted small">{time(rec.startedAtMs)}</span>
              </li>
            ))}
          </ul>
          <h4>Integrity timeline</h4>
          <IntegrityList timeline={summary.integrity} testId="summary-integrity" />
          <h4>Final code</h4>
          {summary.files.map((file) => (
            <details key={file.name}>
              <summary>{file.name}</summary>
              <pre className="summary-code">{file.content}</pre>
            </details>
          ))}
        </div>
      )}
    </details>
  );
}
