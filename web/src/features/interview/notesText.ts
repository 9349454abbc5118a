// Binding a plain text area to a Y.Text: a local edit becomes the one splice between the old and
// the new value, and a remote change moves the caret the way the text moved around it.

/** The single replacement that turns one string into another. */
export interface Splice {
  index: number;
  remove: number;
  insert: string;
}

/** The splice from `before` to `after` (common prefix and suffix kept), or null when equal. */
export function spliceBetween(before: string, after: string): Splice | null {
  if (before === after) return null;
  const shorter = Math.min(before.length, after.length);
  let start = 0;
  while (start < shorter && before.charCodeAt(start) === after.charCodeAt(start)) start++;
  let end = 0;
  while (end < shorter - start && before.charCodeAt(before.length - 1 - end) === after.charCodeAt(after.length - 1 - end)) end++;
  return { index: start, remove: before.length - start - end, insert: after.slice(start, after.length - end) };
}

/** One operation of a Y.Text change (`YTextEvent.delta`). */
export interface DeltaOp {
  insert?: unknown;
  delete?: number;
  retain?: number;
}

/**
 * Where a caret at `pos` is after a remote change: text inserted or deleted before it shifts it;
 * text inserted exactly at it goes after it, so a remote typist never pushes the local caret.
 */
export function mapThroughDelta(pos: number, delta: DeltaOp[]): number {
  let oldIndex = 0;
  let shift = 0;
  for (const op of delta) {
    if (oldIndex >= pos) break;
    if (op.retain != null) {
      oldIndex += op.retain;
    } else if (op.delete != null) {
      shift -= Math.min(op.delete, pos - oldIndex);
      oldIndex += op.delete;
    } else if (op.insert != null) {
      shift += typeof op.insert === 'string' ? op.insert.length : 1;
    }
  }
  return pos + shift;
}

/** UTF-8 bytes of a text, the unit of the server's per-file limit. */
export function utf8Bytes(text: string): number {
  return new TextEncoder().encode(text).length;
}
