// Terminal output as plain text, for playback (pure; unit-tested). The recorded output is what the
// shell printed (keystrokes are never recorded; the TTY's echo is output), with its escape
// sequences. This keeps what a reader needs — lines, carriage returns that rewrite a line,
// backspaces, "erase line" and "clear screen" — and drops colours, titles and cursor dances.
// Incremental: `write` takes chunks as they come, even with a sequence split across two.

const ESC = '\x1b';
export const MAX_LINES = 5000;

export class TerminalTranscript {
  private lines: string[] = [''];
  private col = 0;
  /** An escape sequence cut at the end of the last chunk. */
  private pending = '';
  private dropped = 0;

  constructor(private readonly maxLines = MAX_LINES) {}

  write(chunk: string): void {
    const s = this.pending + chunk;
    this.pending = '';
    let i = 0;
    const n = s.length;
    while (i < n) {
      const c = s.charCodeAt(i);
      if (c >= 0x20 && c !== 0x7f) {
        // A run of printable characters.
        let j = i + 1;
        while (j < n) {
          const d = s.charCodeAt(j);
          if (d < 0x20 || d === 0x7f) break;
          j++;
        }
        this.put(s.slice(i, j));
        i = j;
        continue;
      }
      if (s[i] === ESC) {
        const used = this.escape(s, i);
        if (used < 0) {
          this.pending = s.slice(i);
          if (this.pending.length > 256) this.pending = ''; // not a sequence after all
          return;
        }
        i += used;
        continue;
      }
      switch (c) {
        case 0x0a: // \n
          this.newLine();
          break;
        case 0x0d: // \r
          this.col = 0;
          break;
        case 0x08: // backspace
          this.col = Math.max(0, this.col - 1);
          break;
        case 0x09: // tab
          this.put(' '.repeat(8 - (this.col % 8)));
          break;
        default:
          break; // BEL and other controls: nothing to show
      }
      i++;
    }
  }

  /** Length of the escape sequence at `i`, or -1 when it is cut off at the end. */
  private escape(s: string, i: number): number {
    if (i + 1 >= s.length) return -1;
    const kind = s[i + 1];
    if (kind === '[') {
      let j = i + 2;
      while (j < s.length) {
        const d = s.charCodeAt(j);
        if (d >= 0x40 && d <= 0x7e) {
          this.csi(s.slice(i + 2, j), s[j]);
          return j - i + 1;
        }
        j++;
      }
      return -1;
    }
    if (kind === ']' || kind === 'P' || kind === '_' || kind === '^') {
      // OSC / DCS / APC / PM: up to BEL or ESC \
      for (let j = i + 2; j < s.length; j++) {
        if (s[j] === '\x07') return j - i + 1;
        if (s[j] === ESC) {
          if (j + 1 >= s.length) return -1;
          if (s[j + 1] === '\\') return j - i + 2;
        }
      }
      return -1;
    }
    if (kind === '(' || kind === ')' || kind === '#' || kind === '%') return i + 2 < s.length ? 3 : -1;
    return 2; // ESC + one character (keypad modes, save/restore cursor…)
  }

  private csi(params: string, final: string) {
    const first = Number.parseInt(params.replace(/^[?>=]/, '').split(';')[0] || '', 10);
    const num = Number.isFinite(first) ? first : 0;
    const line = this.lines[this.lines.length - 1];
    switch (final) {
      case 'K': // erase in line
        if (num === 0) this.lines[this.lines.length - 1] = line.slice(0, this.col);
        else if (num === 1) this.lines[this.lines.length - 1] = ' '.repeat(this.col) + line.slice(this.col);
        else this.lines[this.lines.length - 1] = '';
        break;
      case 'J': // erase in display: a cleared screen starts afresh
        if (num === 2 || num === 3) {
          this.dropped += this.lines.length;
          this.lines = [''];
          this.col = 0;
        }
        break;
      case 'C': // cursor forward
        this.col += Math.max(1, num);
        break;
      case 'D': // cursor back
        this.col = Math.max(0, this.col - Math.max(1, num));
        break;
      case 'G': // cursor to column
        this.col = Math.max(0, Math.max(1, num) - 1);
        break;
      case 'P': // delete characters
        this.lines[this.lines.length - 1] = line.slice(0, this.col) + line.slice(this.col + Math.max(1, num));
        break;
      default:
        break; // colours (m), cursor position, modes…: ignored
    }
  }

  private put(text: string) {
    const last = this.lines.length - 1;
    const line = this.lines[last];
    if (this.col === line.length) this.lines[last] = line + text;
    else if (this.col > line.length) this.lines[last] = line + ' '.repeat(this.col - line.length) + text;
    else this.lines[last] = line.slice(0, this.col) + text + line.slice(this.col + text.length);
    this.col += text.length;
  }

  private newLine() {
    this.lines.push('');
    this.col = 0;
    if (this.lines.length > this.maxLines) {
      const cut = this.lines.length - this.maxLines;
      this.lines.splice(0, cut);
      this.dropped += cut;
    }
  }

  /** A note of ours (e.g. "[new shell]") on a line of its own. */
  note(text: string): void {
    if (this.lines[this.lines.length - 1] !== '') this.newLine();
    this.put(text);
    this.newLine();
  }

  /** Lines dropped from the top (beyond the cap, or by a clear screen). */
  get droppedLines(): number {
    return this.dropped;
  }

  toString(): string {
    return this.lines.join('\n');
  }
}

/** The whole text of some output chunks (convenience for tests and one-off use). */
export function terminalText(chunks: readonly string[]): string {
  const t = new TerminalTranscript();
  for (const c of chunks) t.write(c);
  return t.toString();
}
