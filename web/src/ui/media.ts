import { useSyncExternalStore } from 'react';

/** At or below this width the pad shows one pane at a time, chosen with tabs (phones, small windows). */
export const NARROW_MAX_WIDTH_PX = 900;
const NARROW_QUERY = `(max-width: ${NARROW_MAX_WIDTH_PX}px)`;

export function useNarrow(): boolean {
  return useSyncExternalStore(
    (listener) => {
      const mq = window.matchMedia(NARROW_QUERY);
      mq.addEventListener('change', listener);
      return () => mq.removeEventListener('change', listener);
    },
    () => window.matchMedia(NARROW_QUERY).matches,
    () => false,
  );
}
