// A candidate's page before an interviewer lets them in. The server refuses the pad to them until
// then, so this page has no socket: it knocks, then asks again every few seconds.
import { useEffect, useState } from 'react';
import { Link } from 'react-router-dom';
import { describeError } from '../../api';
import { Spinner } from '../../ui/common';
import { interviewApi } from './interviewApi';

/** How often a waiting candidate asks whether they were let in. */
export const KNOCK_EVERY_MS = 2000;

type Status = 'waiting' | 'refused' | 'admitted';

export function WaitingRoom(props: { slug: string; onAdmitted: () => void }) {
  const { slug, onAdmitted } = props;
  const [status, setStatus] = useState<Status>('waiting');
  const [title, setTitle] = useState('');
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const knock = async () => {
      try {
        const answer = await interviewApi.knock(slug);
        if (!live) return;
        setTitle(answer.title);
        setStatus(answer.status);
        setError(null);
        if (answer.status === 'admitted') {
          onAdmitted();
          return;
        }
      } catch (err) {
        if (live) setError(describeError(err));
      }
      if (live) timer = setTimeout(knock, KNOCK_EVERY_MS);
    };
    void knock();
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [slug, onAdmitted]);

  return (
    <div className="card stack waiting-room" data-testid="waiting-room">
      {title && <h1>{title}</h1>}
      {status === 'refused' ? (
        <p role="status">The interviewer didn't let you in. If you think this is a mistake, contact them.</p>
      ) : (
        <>
          <Spinner />
          <p role="status">Your interviewer will let you in. Keep this page open.</p>
        </>
      )}
      {error && (
        <p className="alert alert-error" role="alert">
          {error}
        </p>
      )}
      <Link to="/dashboard" className="small">
        Back to your pads
      </Link>
    </div>
  );
}
