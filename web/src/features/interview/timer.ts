// The interview timer is stamped by the server (`startedAtMs` on its clock); each client measures
// how far its own clock is from the server's when it fetches the interview (`nowMs`) and counts from
// there, so every screen shows the same time whatever its clock says.

export interface TimerView {
  mode: 'countdown' | 'elapsed';
  startedAtMs: number;
  durationMs?: number;
}

/** Server clock minus this client's, measured at a fetch. */
export function clockSkew(serverNowMs: number, clientNowMs: number): number {
  return serverNowMs - clientNowMs;
}

/** What the timer shows: milliseconds left (countdown, never below 0) or gone (elapsed). */
export function timerValue(timer: TimerView, clientNowMs: number, skewMs: number, endedAtMs?: number | null): number {
  const serverNow = endedAtMs ?? clientNowMs + skewMs;
  const elapsed = Math.max(0, serverNow - timer.startedAtMs);
  if (timer.mode === 'countdown') return Math.max(0, (timer.durationMs ?? 0) - elapsed);
  return elapsed;
}

/** "4:05", "1:02:03". */
export function formatClock(ms: number): string {
  const total = Math.floor(ms / 1000);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const mm = h > 0 ? String(m).padStart(2, '0') : String(m);
  return `${h > 0 ? `${h}:` : ''}${mm}:${String(s).padStart(2, '0')}`;
}
