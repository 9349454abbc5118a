import { useEffect, useLayoutEffect, useRef, useState } from 'react';
import type { OutputBuffer } from './outputBuffer';

/** Height of one output row in px; `.output-row` in app.css sets the same line height. */
export const OUTPUT_ROW_PX = 19;
/** Rows rendered above and below the visible ones, so fast scrolling shows no gaps. */
const OVERSCAN_ROWS = 30;

/** The rows a view of `height` px scrolled to `scrollTop` renders: [first, end). */
export function visibleRows(rowCount: number, scrollTop: number, height: number): [number, number] {
  const first = Math.max(0, Math.floor(scrollTop / OUTPUT_ROW_PX) - OVERSCAN_ROWS);
  const end = Math.min(rowCount, Math.ceil((scrollTop + height) / OUTPUT_ROW_PX) + OVERSCAN_ROWS);
  return [first, Math.max(first, end)];
}

/**
 * A run's output, virtualised: only the rows in view are in the DOM, so a megabyte of output
 * costs what a screenful does. Follows the end of the output unless the reader scrolled up.
 */
export function OutputView(props: { output: OutputBuffer; version: number; runId: string }) {
  const { output, version } = props;
  const ref = useRef<HTMLDivElement>(null);
  const stick = useRef(true);
  const [view, setView] = useState({ scrollTop: 0, height: 0 });

  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    const measure = () => setView({ scrollTop: el.scrollTop, height: el.clientHeight });
    measure();
    const observer = new ResizeObserver(measure);
    observer.observe(el);
    return () => observer.disconnect();
  }, []);

  useEffect(() => {
    stick.current = true;
  }, [props.runId]);

  useLayoutEffect(() => {
    const el = ref.current;
    if (el && stick.current) {
      el.scrollTop = el.scrollHeight;
      setView({ scrollTop: el.scrollTop, height: el.clientHeight });
    }
  }, [version, props.runId]);

  const rows = output.rowCount;
  const [first, end] = visibleRows(rows, view.scrollTop, view.height);
  const shown = [];
  for (let i = first; i < end; i++) {
    shown.push(
      <div key={i} className="output-row">
        {output.row(i).map((span, j) => (
          <span key={j} className={`out-${span.stream}`} data-stream={span.stream}>
            {span.text}
          </span>
        ))}
      </div>,
    );
  }
  return (
    <div
      className="output-rows mono"
      ref={ref}
      data-testid="output-rows"
      data-rows={rows}
      onScroll={(e) => {
        const el = e.currentTarget;
        stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < OUTPUT_ROW_PX * 2;
        setView({ scrollTop: el.scrollTop, height: el.clientHeight });
      }}
    >
      <div className="output-rows-space" style={{ height: rows * OUTPUT_ROW_PX }}>
        <div className="output-rows-shown" style={{ transform: `translateY(${first * OUTPUT_ROW_PX}px)` }}>
          {shown}
        </div>
      </div>
    </div>
  );
}
