// The playback clock (pure; unit-tested). Recording time advances at `speed` × real time, except
// that a quiet stretch between two moments of activity never takes longer than `capMs` of real
// time to play: the whole gap is played at the rate that fits it into the cap. So idle minutes
// pass in two seconds, yet nothing is jumped over (the scrubber still moves through them).

/** Longest real time an idle gap takes to play. */
export const GAP_CAP_MS = 2000;
export const SPEEDS = [0.5, 1, 2, 4, 8] as const;

export interface AdvanceInput {
  /** Current position (ms since the epoch). */
  t: number;
  /** Real milliseconds elapsed since the last frame. */
  dtMs: number;
  speed: number;
  /** Sorted instants of activity (events) in the window. */
  times: readonly number[];
  start: number;
  end: number;
  /** Don't go past this instant (events after it are not loaded yet). */
  limit?: number;
  capMs?: number;
}

function countThrough(times: readonly number[], t: number): number {
  let lo = 0;
  let hi = times.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (times[mid] <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The quiet stretch around `t`: from the last activity at or before it to the next one after it. */
export function gapAround(times: readonly number[], t: number, start: number, end: number): { from: number; to: number } {
  const i = countThrough(times, t);
  const from = i > 0 ? Math.max(times[i - 1], start) : start;
  const to = i < times.length ? Math.min(times[i], end) : end;
  return { from, to: Math.max(to, from) };
}

/** Recording milliseconds per real millisecond inside a gap of `gapMs`. */
export function rateFor(gapMs: number, speed: number, capMs = GAP_CAP_MS): number {
  const s = speed > 0 ? speed : 1;
  return gapMs / s > capMs ? gapMs / capMs : s;
}

/** The position after `dtMs` of real time. */
export function advance(input: AdvanceInput): number {
  const cap = input.capMs ?? GAP_CAP_MS;
  const stopAt = Math.min(input.end, input.limit ?? Infinity);
  let t = Math.max(input.t, input.start);
  let dt = Math.max(0, input.dtMs);
  // Each pass crosses at most one gap; bounded so a huge dt can't spin for long.
  for (let guard = 0; dt > 0 && t < stopAt && guard < 10_000; guard++) {
    const { from, to } = gapAround(input.times, t, input.start, input.end);
    if (to <= t) break;
    const rate = rateFor(to - from, input.speed, cap);
    const reach = (to - t) / rate;
    if (dt >= reach) {
      t = to;
      dt -= reach;
    } else {
      t += dt * rate;
      dt = 0;
    }
  }
  return Math.min(t, stopAt);
}

/** How long the whole window takes to play at `speed` with gaps capped (real ms). */
export function playDuration(times: readonly number[], start: number, end: number, speed: number, capMs = GAP_CAP_MS): number {
  let total = 0;
  let prev = start;
  for (const at of times) {
    if (at <= prev) continue;
    if (at > end) break;
    total += (at - prev) / rateFor(at - prev, speed, capMs);
    prev = at;
  }
  if (end > prev) total += (end - prev) / rateFor(end - prev, speed, capMs);
  return total;
}

/** The next activity strictly after `t` (or `end`). */
export function nextTime(times: readonly number[], t: number, end: number): number {
  const i = countThrough(times, t);
  return i < times.length ? Math.min(times[i], end) : end;
}

/** The last activity strictly before `t` (or `start`). */
export function prevTime(times: readonly number[], t: number, start: number): number {
  let lo = 0;
  let hi = times.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (times[mid] < t) lo = mid + 1;
    else hi = mid;
  }
  return lo > 0 ? Math.max(times[lo - 1], start) : start;
}
