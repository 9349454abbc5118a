import { describe, expect, it } from 'vitest';
import { textOn } from '../src/editor/colors';
import { PALETTE_HUES, personColor, personHue } from '../src/ui/personColor';

/** WCAG relative luminance of `#rgb` or `#rrggbb`. */
function luminance(color: string): number {
  const hex = color.length === 4 ? '#' + [...color.slice(1)].map((c) => c + c).join('') : color;
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16) / 255).map((c) => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4));
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}
const contrast = (a: string, b: string) => {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
};

describe('person colours', () => {
  it('are the same for a person everywhere and differ between people who joined around the same time', () => {
    expect(personColor(7, 'Ada')).toBe(personColor(7, 'renamed Ada'));
    const ids = Array.from({ length: PALETTE_HUES }, (_, i) => 1000 + i);
    expect(new Set(ids.map((id) => personColor(id))).size).toBe(PALETTE_HUES);
    // Neighbouring ids are far apart on the colour wheel (not two near-identical greens).
    for (const id of ids) {
      const gap = Math.abs(personHue(id) - personHue(id + 1)) % 360;
      expect(Math.min(gap, 360 - gap)).toBeGreaterThanOrEqual(90);
    }
  });

  it('fall back to the name for someone without an id', () => {
    expect(personColor(null, 'Guest')).toBe(personColor(undefined, 'Guest'));
    expect(personColor(null, 'Guest')).toMatch(/^#[0-9a-f]{6}$/);
  });

  it('read on both themes and carry readable initials', () => {
    const darkBackground = '#0f131b';
    const lightBackground = '#ffffff';
    for (let id = 0; id < PALETTE_HUES; id++) {
      const color = personColor(id);
      expect(contrast(color, darkBackground), `${color} on dark`).toBeGreaterThanOrEqual(2.5);
      expect(contrast(color, lightBackground), `${color} on light`).toBeGreaterThanOrEqual(1.6);
      expect(contrast(color, textOn(color)), `text on ${color}`).toBeGreaterThanOrEqual(3);
    }
  });
});
