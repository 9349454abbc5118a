// Console input of a run, as `run.stdin` / `run.eof` app messages. The server refuses a message
// over CONSOLE_MESSAGE_BYTES whole, so longer input (a pasted block) is split into messages that
// fit, never inside a character.

/** The server's limit of one `run.stdin` message (CONSOLE_MESSAGE_BYTES), in UTF-8 bytes. */
export const CONSOLE_MESSAGE_BYTES = 4096;

/** What the console sends for a key press. */
export type ConsoleKey = { kind: 'line' } | { kind: 'eof' } | { kind: 'none' };

/** Enter sends the line; Ctrl-D (or Cmd-D) ends the input, as in a terminal. */
export function consoleKey(e: { key: string; ctrlKey: boolean; metaKey: boolean; shiftKey: boolean; altKey: boolean }): ConsoleKey {
  if (e.key === 'Enter' && !e.shiftKey && !e.altKey && !e.ctrlKey && !e.metaKey) return { kind: 'line' };
  if ((e.key === 'd' || e.key === 'D') && (e.ctrlKey || e.metaKey) && !e.altKey && !e.shiftKey) return { kind: 'eof' };
  return { kind: 'none' };
}

function utf8Length(codePoint: number): number {
  return codePoint < 0x80 ? 1 : codePoint < 0x800 ? 2 : codePoint < 0x10000 ? 3 : 4;
}

/** `text` in pieces of at most `maxBytes` UTF-8 bytes each, split between characters. */
export function splitInput(text: string, maxBytes = CONSOLE_MESSAGE_BYTES): string[] {
  const pieces: string[] = [];
  let start = 0;
  let bytes = 0;
  let i = 0;
  while (i < text.length) {
    const cp = text.codePointAt(i)!;
    const units = cp > 0xffff ? 2 : 1;
    const size = utf8Length(cp);
    if (bytes + size > maxBytes) {
      pieces.push(text.slice(start, i));
      start = i;
      bytes = 0;
    }
    bytes += size;
    i += units;
  }
  if (i > start) pieces.push(text.slice(start));
  return pieces;
}

export type ConsoleMessage = { type: 'run.stdin'; runId: string; data: string } | { type: 'run.eof'; runId: string };

/** The messages that send `text` (may be empty) to run `runId`, then end its input if `eof`. */
export function consoleMessages(runId: string, text: string, eof: boolean): ConsoleMessage[] {
  const messages: ConsoleMessage[] = splitInput(text).map((data) => ({ type: 'run.stdin', runId, data }));
  if (eof) messages.push({ type: 'run.eof', runId });
  return messages;
}
