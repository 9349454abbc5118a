/** `#rgb` / `#rrggbb` (validated) to an rgba() string with the given alpha; null when invalid. */
export function withAlpha(color: string, alpha: number): string | null {
  const m = /^#([0-9a-f]{3}|[0-9a-f]{6})([0-9a-f]{2})?$/i.exec(color);
  if (!m) return null;
  let hex = m[1];
  if (hex.length === 3) hex = hex.split('').map((c) => c + c).join('');
  const r = parseInt(hex.slice(0, 2), 16);
  const g = parseInt(hex.slice(2, 4), 16);
  const b = parseInt(hex.slice(4, 6), 16);
  return `rgba(${r}, ${g}, ${b}, ${alpha})`;
}

/** Black or white text, whichever reads better on `color`. */
export function textOn(color: string): string {
  const rgba = withAlpha(color, 1);
  if (!rgba) return '#fff';
  const [r, g, b] = rgba.match(/\d+/g)!.map(Number);
  const luminance = (0.299 * r + 0.587 * g + 0.114 * b) / 255;
  return luminance > 0.62 ? '#111' : '#fff';
}
