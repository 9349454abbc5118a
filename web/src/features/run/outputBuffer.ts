// A run's output as rows of text, appended in place: each chunk costs its own length, whatever
// came before, and a view reads only the rows it shows (see OutputView). Rows longer than
// MAX_ROW_CHARS are wrapped so no single row holds megabytes of a line without newlines.

/** `stdin`: console input typed on the pad, shown where the program read it. */
export type OutputStream = 'stdout' | 'stderr' | 'stdin';

export interface OutputSpan {
  stream: OutputStream;
  text: string;
}

interface Row {
  spans: OutputSpan[];
  chars: number;
  /** A newline ended it (a wrapped or last row has none). */
  newline: boolean;
}

/** Longest row kept as one line; past it the line continues on the next row. */
export const MAX_ROW_CHARS = 2000;

export class OutputBuffer {
  private readonly rows: Row[] = [];
  /** The last row while it can still grow. */
  private open: Row | null = null;
  /** UTF-16 code units appended (what the client-side cap counts). */
  chars = 0;

  append(stream: OutputStream, data: string): void {
    this.chars += data.length;
    let start = 0;
    for (;;) {
      const newline = data.indexOf('\n', start);
      this.pushText(stream, data.slice(start, newline === -1 ? data.length : newline));
      if (newline === -1) return;
      this.openRow().newline = true;
      this.open = null;
      start = newline + 1;
    }
  }

  get rowCount(): number {
    return this.rows.length;
  }

  row(index: number): readonly OutputSpan[] {
    return this.rows[index]?.spans ?? [];
  }

  /** The whole output as written (for copying). */
  text(): string {
    let out = '';
    for (const row of this.rows) {
      for (const span of row.spans) out += span.text;
      if (row.newline) out += '\n';
    }
    return out;
  }

  private pushText(stream: OutputStream, text: string) {
    while (text.length > 0) {
      const row = this.openRow();
      const room = MAX_ROW_CHARS - row.chars;
      if (room <= 0) {
        this.open = null;
        continue;
      }
      const piece = text.slice(0, room);
      const last = row.spans[row.spans.length - 1];
      if (last && last.stream === stream) last.text += piece;
      else row.spans.push({ stream, text: piece });
      row.chars += piece.length;
      text = text.slice(room);
    }
  }

  private openRow(): Row {
    if (!this.open) {
      this.open = { spans: [], chars: 0, newline: false };
      this.rows.push(this.open);
    }
    return this.open;
  }
}
