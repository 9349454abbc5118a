// The integrity timeline for interviewers (issue 13 §5): the candidate's pastes, large insertions
// and focus changes, oldest first. Live in the Interview panel (fetched again on every
// `integrity.reported`, which the server sends to interviewers only) and in the summary.
import { describeIntegrity, type IntegrityTimeline } from './integrity';

const clock = (ms: number) => new Date(ms).toLocaleTimeString();

export default function IntegrityList(props: { timeline: IntegrityTimeline | null; testId: string }) {
  const { timeline } = props;
  if (!timeline) return null;
  if (timeline.events.length === 0) return <p className="muted small">Nothing reported.</p>;
  return (
    <>
      <ul className="summary-list integrity-list" data-testid={props.testId}>
        {timeline.events.map((event, i) => (
          <li key={`${event.at}-${i}`} className={`integrity-${event.kind}`} data-testid="integrity-event">
            <span className="muted small">{clock(event.at)}</span> {event.userName ?? 'a deleted user'} {describeIntegrity(event)}
          </li>
        ))}
      </ul>
      {timeline.capped && <p className="muted small">Later reports were not kept: this pad reached its limit.</p>}
    </>
  );
}
