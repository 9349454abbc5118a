// The pad's interview as this caller may see it, fetched again whenever the server says it changed
// (`interview.changed` on the pad socket bumps `interviewVersion`); and, for interviewers, how
// many `integrity.reported` notices arrived (the integrity list is fetched again on each).
import { useEffect, useMemo, useState } from 'react';
import { isApiError } from '../../api';
import { useStore } from '../../ui/store';
import type { PadSession } from '../pad/padSession';
import { interviewApi, type CaseResult, type Interview } from './interviewApi';
import { clockSkew } from './timer';

export interface InterviewState {
  interview: Interview;
  /** Server clock minus ours, for the timer. */
  skewMs: number;
  /** The last test run someone on the pad made (visible cases only). */
  testsFinished: { userId: number; name: string; results: CaseResult[] } | null;
  /** Bumped by `integrity.reported` (sent to interviewers only). */
  integrityVersion: number;
}

export function useInterview(session: PadSession): InterviewState | null {
  const version = useStore(session.store, (s) => s.interviewVersion);
  const kind = useStore(session.store, (s) => s.pad.kind);
  const testsFinished = useStore(session.store, (s) => s.testsFinished);
  const [state, setState] = useState<Omit<InterviewState, 'testsFinished' | 'integrityVersion'> | null>(null);
  const [integrityVersion, setIntegrityVersion] = useState(0);
  useEffect(
    () =>
      session.provider.on('app', (message) => {
        if (message.type === 'integrity.reported') setIntegrityVersion((v) => v + 1);
      }),
    [session],
  );
  useEffect(() => {
    if (kind !== 'interview') return;
    let live = true;
    const asked = Date.now();
    interviewApi.get(session.slug).then(
      (interview) => {
        const now = Date.now();
        // Half the round trip: the server read its clock somewhere in between.
        if (live) setState({ interview, skewMs: clockSkew(interview.nowMs, (asked + now) / 2) });
      },
      (err) => {
        // A pad of kind "interview" that was not started from a question has no interview.
        if (live && isApiError(err) && err.status === 404) setState(null);
      },
    );
    return () => {
      live = false;
    };
  }, [session.slug, version, kind]);
  return useMemo(
    () => (state ? { ...state, testsFinished, integrityVersion } : null),
    [state, testsFinished, integrityVersion],
  );
}
