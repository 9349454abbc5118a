// One colour per person, the same everywhere (live cursors, avatars, playback authors) and on
// every client: it comes from the user id alone. The palette is 12 hues 30° apart, lighter
// around blue and darker around yellow so every one reads on both themes; consecutive ids land
// 150° apart, so people who joined around the same time never look alike.

/** Hues in the palette. */
export const PALETTE_HUES = 12;
/** Palette steps between consecutive user ids (coprime with PALETTE_HUES, so every hue is used). */
const ID_STRIDE = 5;
const SATURATION = 0.72;
const LIGHTNESS = 0.47;
/** How much lighter pure blue gets (it is dark on the dark theme otherwise). */
const BLUE_LIFT = 0.13;
/** How much darker pure yellow gets (it is faint on the light theme otherwise). */
const YELLOW_DROP = 0.1;

function lightnessAt(hue: number): number {
  const near = (centre: number) => Math.max(0, Math.cos(((hue - centre) * Math.PI) / 180));
  return LIGHTNESS + BLUE_LIFT * near(240) - YELLOW_DROP * near(60);
}

function hashName(name: string): number {
  let h = 0;
  for (let i = 0; i < name.length; i++) h = (h * 31 + name.charCodeAt(i)) >>> 0;
  return h;
}

/** The person's hue in degrees (by id; by name only for someone without one). */
export function personHue(userId: number | null | undefined, name?: string | null): number {
  const key = userId ?? hashName(name ?? '?');
  const slot = (((key * ID_STRIDE) % PALETTE_HUES) + PALETTE_HUES) % PALETTE_HUES;
  return slot * (360 / PALETTE_HUES);
}

/** The person's colour as `#rrggbb`. */
export function personColor(userId: number | null | undefined, name?: string | null): string {
  const hue = personHue(userId, name);
  const h = hue / 360;
  const l = lightnessAt(hue);
  const q = l < 0.5 ? l * (1 + SATURATION) : l + SATURATION - l * SATURATION;
  const p = 2 * l - q;
  const channel = (t: number) => {
    const u = t < 0 ? t + 1 : t > 1 ? t - 1 : t;
    const v = u < 1 / 6 ? p + (q - p) * 6 * u : u < 1 / 2 ? q : u < 2 / 3 ? p + (q - p) * (2 / 3 - u) * 6 : p;
    return Math.round(v * 255)
      .toString(16)
      .padStart(2, '0');
  };
  return `#${channel(h + 1 / 3)}${channel(h)}${channel(h - 1 / 3)}`;
}
