// The interviewer's own scorecard (issue 13 §4), started from their template: rate each criterion
// 1–4 against the description of each level, write notes, recommend, save drafts, submit once. The others' scorecards appear only
// after submitting — the server sends none before, so nothing here can leak them early.
import { useCallback, useEffect, useState } from 'react';
import { describeError } from '../../api';
import { toast } from '../../ui/toast';
import { interviewApi, RECOMMENDATIONS, type Criterion, type Scorecard, type ScorecardInput, type Scorecards } from './interviewApi';

const RECOMMENDATION_LABEL = Object.fromEntries(RECOMMENDATIONS.map((r) => [r.value, r.label]));

/** The caller's scorecard to edit: their saved one, or a new one from their template. */
function editable(cards: Scorecards): ScorecardInput {
  const mine = cards.mine;
  if (!mine) return { sections: cards.template, notes: '', recommendation: null };
  return { sections: mine.sections, notes: mine.notes, recommendation: mine.recommendation };
}

function RatingRow(props: { criterion: Criterion; name: string; onRate?: (rating: number) => void }) {
  const { criterion } = props;
  return (
    <fieldset className="scorecard-criterion" disabled={!props.onRate}>
      <legend>{criterion.name}</legend>
      <div className="row wrap">
        {criterion.levels.map((description, i) => (
          <label key={i} className="scorecard-level" title={description}>
            <input
              type="radio"
              name={props.name}
              checked={criterion.rating === i + 1}
              onChange={() => props.onRate?.(i + 1)}
            />
            {i + 1} <span className="muted small">{description}</span>
          </label>
        ))}
      </div>
    </fieldset>
  );
}

/** Someone's submitted scorecard, read-only. */
function SubmittedCard(props: { card: Scorecard }) {
  const { card } = props;
  return (
    <article className="stack scorecard-other" data-testid="scorecard-other">
      <h4>
        {card.name}: {card.recommendation ? RECOMMENDATION_LABEL[card.recommendation] : '—'}
      </h4>
      <ul className="scorecard-ratings">
        {card.sections.flatMap((section) =>
          section.criteria.map((c) => (
            <li key={`${section.title}/${c.name}`}>
              {section.title} · {c.name}: <strong>{c.rating ?? '—'}</strong>/4
            </li>
          )),
        )}
      </ul>
      {card.notes && <p className="scorecard-notes">{card.notes}</p>}
    </article>
  );
}

export default function ScorecardPanel(props: { slug: string }) {
  const { slug } = props;
  const [cards, setCards] = useState<Scorecards | null>(null);
  const [draft, setDraft] = useState<ScorecardInput>({ sections: [], notes: '', recommendation: null });
  const [busy, setBusy] = useState(false);

  const show = useCallback((next: Scorecards) => {
    setCards(next);
    setDraft(editable(next));
  }, []);
  const load = useCallback(() => {
    interviewApi.scorecards(slug).then(show, (err) => toast(`Couldn't load scorecards: ${describeError(err)}`, 'error'));
  }, [slug, show]);
  useEffect(load, [load]);

  const send = async (submit: boolean) => {
    setBusy(true);
    try {
      show(await (submit ? interviewApi.submitScorecard(slug, draft) : interviewApi.saveScorecard(slug, draft)));
      toast(submit ? 'Scorecard submitted' : 'Draft saved', 'success');
    } catch (err) {
      toast(describeError(err), 'error');
    } finally {
      setBusy(false);
    }
  };
  const saveTemplate = async () => {
    try {
      await interviewApi.setTemplate({ sections: draft.sections });
      toast('Your next scorecards start from these criteria', 'success');
    } catch (err) {
      toast(`Couldn't save the template: ${describeError(err)}`, 'error');
    }
  };
  const rate = (s: number, c: number, rating: number) =>
    setDraft((d) => ({
      ...d,
      sections: d.sections.map((section, si) =>
        si !== s ? section : { ...section, criteria: section.criteria.map((cr, ci) => (ci !== c ? cr : { ...cr, rating })) },
      ),
    }));

  if (!cards) return null;
  const submitted = !!cards.mine?.submittedAtMs;
  return (
    <section className="stack scorecard" aria-label="Scorecard" data-testid="scorecard">
      <h3>Your scorecard{submitted ? ' (submitted)' : ''}</h3>
      {draft.sections.map((section, s) => (
        <div key={section.title} className="stack">
          <h4>{section.title}</h4>
          {section.criteria.map((criterion, c) => (
            <RatingRow
              key={criterion.name}
              criterion={criterion}
              name={`rating-${s}-${c}`}
              onRate={submitted ? undefined : (rating) => rate(s, c, rating)}
            />
          ))}
        </div>
      ))}
      <label className="stack">
        Notes
        <textarea
          className="input"
          data-testid="scorecard-notes"
          value={draft.notes}
          readOnly={submitted}
          onChange={(e) => setDraft({ ...draft, notes: e.target.value })}
        />
      </label>
      <label className="row wrap">
        Recommendation
        <select
          className="input"
          data-testid="scorecard-recommendation"
          value={draft.recommendation ?? ''}
          disabled={submitted}
          onChange={(e) => setDraft({ ...draft, recommendation: (e.target.value || null) as ScorecardInput['recommendation'] })}
        >
          <option value="">Choose…</option>
          {RECOMMENDATIONS.map((r) => (
            <option key={r.value} value={r.value}>
              {r.label}
            </option>
          ))}
        </select>
      </label>
      {!submitted && (
        <div className="row wrap">
          <button className="btn btn-small" disabled={busy} data-testid="scorecard-save" onClick={() => send(false)}>
            Save draft
          </button>
          <button className="btn btn-primary btn-small" disabled={busy} data-testid="scorecard-submit" onClick={() => send(true)}>
            Submit
          </button>
        </div>
      )}
      <button className="btn btn-small btn-ghost" data-testid="scorecard-save-template" onClick={saveTemplate}>
        Use these criteria for my next scorecards
      </button>
      <h3>Other interviewers</h3>
      {submitted ? (
        <>
          {cards.others.length === 0 && <p className="muted small">Nobody else has submitted yet.</p>}
          {cards.others.map((card) => (
            <SubmittedCard key={card.userId} card={card} />
          ))}
        </>
      ) : (
        <p className="muted small" data-testid="scorecards-hidden">
          {cards.othersSubmitted} submitted. You see theirs once you submit yours.
        </p>
      )}
      <button className="btn btn-small btn-ghost" data-testid="scorecards-refresh" onClick={load}>
        Refresh
      </button>
    </section>
  );
}
