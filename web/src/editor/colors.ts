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

/** WCAG relative luminance of an rgb triple (0–255). */
function relativeLuminance([r, g, b]: number[]): number {
  const linear = (c: number) => {
    const v = c / 255;
    return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b);
}

/** Near-black or white text, whichever contrasts more with `color` (WCAG contrast ratio). */
export function textOn(color: string): string {
  const rgba = withAlpha(color, 1);
  if (!rgba) return '#fff';
  const background = relativeLuminance(rgba.match(/\d+/g)!.slice(0, 3).map(Number));
  const dark = relativeLuminance([17, 17, 17]);
  const onDark = (background + 0.05) / (dark + 0.05);
  const onWhite = 1.05 / (background + 0.05);
  return onDark > onWhite ? '#111' : '#fff';
}
