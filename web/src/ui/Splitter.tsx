// A drag handle between two panes (also keyboard-operable: arrows, as a WAI-ARIA separator).
// It reports the new size; the caller clamps and stores it.
import { useRef, type KeyboardEvent, type PointerEvent } from 'react';

/** Keyboard step, in pixels of the pane's size. */
const KEY_STEP_PX = 16;

export interface SplitterProps {
  /** 'x': drag left/right (a column's width); 'y': drag up/down (a row's height). */
  axis: 'x' | 'y';
  label: string;
  value: number;
  min: number;
  max: number;
  /** +1 when dragging right/down grows the pane, -1 when it shrinks it. */
  sign: 1 | -1;
  /** Pixels per unit of `value` (1 for pixel sizes; the container's size for a share). */
  scale?: () => number;
  onChange: (value: number) => void;
  className?: string;
  testId?: string;
}

export function Splitter(props: SplitterProps) {
  const { axis, sign, onChange } = props;
  const start = useRef<{ at: number; value: number; scale: number } | null>(null);
  const scaleNow = () => Math.max(1, props.scale?.() ?? 1);
  const clamp = (v: number) => Math.min(props.max, Math.max(props.min, v));

  const onPointerDown = (e: PointerEvent<HTMLDivElement>) => {
    if (e.button !== 0) return;
    e.preventDefault();
    e.currentTarget.setPointerCapture(e.pointerId);
    start.current = { at: axis === 'x' ? e.clientX : e.clientY, value: props.value, scale: scaleNow() };
  };
  const onPointerMove = (e: PointerEvent<HTMLDivElement>) => {
    const s = start.current;
    if (!s) return;
    const delta = (axis === 'x' ? e.clientX : e.clientY) - s.at;
    onChange(clamp(s.value + (sign * delta) / s.scale));
  };
  const onPointerUp = (e: PointerEvent<HTMLDivElement>) => {
    start.current = null;
    if (e.currentTarget.hasPointerCapture(e.pointerId)) e.currentTarget.releasePointerCapture(e.pointerId);
  };
  const onKeyDown = (e: KeyboardEvent<HTMLDivElement>) => {
    const forward = axis === 'x' ? 'ArrowRight' : 'ArrowDown';
    const backward = axis === 'x' ? 'ArrowLeft' : 'ArrowUp';
    if (e.key !== forward && e.key !== backward) return;
    e.preventDefault();
    const step = (sign * (e.key === forward ? 1 : -1) * KEY_STEP_PX) / scaleNow();
    onChange(clamp(props.value + step));
  };

  return (
    <div
      role="separator"
      tabIndex={0}
      aria-label={props.label}
      aria-orientation={axis === 'x' ? 'vertical' : 'horizontal'}
      aria-valuemin={props.min}
      aria-valuemax={props.max}
      aria-valuenow={Math.round(props.value * 100) / 100}
      className={`splitter splitter-${axis}${props.className ? ` ${props.className}` : ''}`}
      data-testid={props.testId}
      onPointerDown={onPointerDown}
      onPointerMove={onPointerMove}
      onPointerUp={onPointerUp}
      onPointerCancel={onPointerUp}
      onKeyDown={onKeyDown}
    />
  );
}
