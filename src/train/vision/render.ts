/**
 * Rendered arithmetic problems for the tiny vision model: a column sum on an S x S image (first
 * operand on one line, operator and second operand right-aligned under it), glyphs from a font
 * atlas (scripts/vision/glyphs.py rasterizes the system TrueType fonts), random font, size,
 * position, colours and noise. Every draw comes from the Rng it is given, so a (seed, index) pair
 * always gives the same image.
 *
 * The image is read as a grid of CELL-pixel cells (the encoder's patches); each glyph belongs to
 * the cell holding its centre (its advance box's middle, the line's middle height). The label is
 * the cell sequence in reading order: the glyph's character, or " " for a blank. Layouts where two
 * glyphs share a cell, or a glyph centre lies within MARGIN px of a cell edge, are drawn again.
 *
 * Held out (never in training): the fonts in HELD_OUT_FONTS, and block origins with
 * (x0 + y0) % 3 == 0.
 */
import { InputError } from "../../errors.js";
import type { Rng } from "../../sampling/rng.js";

export const IMAGE_SIZE = 64;
export const CELL = 8;
export const GRID = IMAGE_SIZE / CELL;
const MARGIN = 1.0;
export const HELD_OUT_FONTS: readonly string[] = [
  "DejaVuSansCondensed-Bold",
  "DejaVuSerif-Italic",
  "DejaVuSansMono-Oblique",
  "LiberationSans-BoldItalic",
  "LiberationSerif-Regular",
  "LiberationMono-Bold",
];
/** Cell characters, in the order of the encoder's candidate embeddings. */
export const CELL_CHARS = [" ", "+", "-", "0", "1", "2", "3", "4", "5", "6", "7", "8", "9"] as const;
/** The language-model text each cell character stands for (one token each). */
export const CELL_TEXT: Record<string, string> = { " ": " ", "+": " +", "-": " -" };
for (let d = 0; d < 10; d++) CELL_TEXT[String(d)] = String(d);

export type Split = "train" | "test";

export interface AtlasGlyph {
  font: number;
  size: number;
  char: string;
  advance: number;
  left: number;
  top: number;
  ascent: number;
  h: number;
  w: number;
  offset: number;
}

export interface AtlasIndex {
  fonts: string[];
  chars: string;
  glyphs: AtlasGlyph[];
}

export class GlyphAtlas {
  private readonly byKey = new Map<string, AtlasGlyph>();
  readonly sizes: number[];

  constructor(
    readonly index: AtlasIndex,
    /** alpha bitmaps, uint8 */
    readonly bitmaps: Uint8Array,
  ) {
    for (const g of index.glyphs) {
      if (g.offset + g.h * g.w > bitmaps.length)
        throw new InputError(`atlas glyph ${g.char} of font ${g.font} lies past the bitmap data`);
      this.byKey.set(`${g.font}:${g.size}:${g.char}`, g);
    }
    this.sizes = [...new Set(index.glyphs.map((g) => g.size))].sort((a, b) => a - b);
  }

  fonts(split: Split): number[] {
    const held = this.index.fonts.flatMap((n, i) => (HELD_OUT_FONTS.includes(n) ? [i] : []));
    if (held.length !== HELD_OUT_FONTS.length)
      throw new InputError(`the atlas lacks held-out fonts (has ${held.length} of ${HELD_OUT_FONTS.length})`);
    return split === "test" ? held : this.index.fonts.map((_, i) => i).filter((i) => !held.includes(i));
  }

  glyph(font: number, size: number, ch: string): AtlasGlyph {
    const g = this.byKey.get(`${font}:${size}:${ch}`);
    if (!g) throw new InputError(`the atlas has no '${ch}' at size ${size} in font ${font}`);
    return g;
  }
}

export interface Placed {
  ch: string;
  x: number;
  baseline: number;
  font: number;
  size: number;
}

export interface Problem {
  a: number;
  op: "+" | "-";
  b: number;
  placed: Placed[];
  /** GRID*GRID cell characters in reading order */
  cells: string;
}

const uni = (rng: Rng, lo: number, hi: number) => lo + (hi - lo) * rng.uniform();

function operands(rng: Rng): { a: number; op: "+" | "-"; b: number } {
  const op = rng.uniform() < 0.5 ? "+" : "-";
  const da = rng.int(1, 4);
  const db = rng.int(1, 4);
  const a = rng.int(da > 1 ? 10 ** (da - 1) : 0, 10 ** da - 1);
  const b = rng.int(db > 1 ? 10 ** (db - 1) : 0, 10 ** db - 1);
  return { a, op, b };
}

function layout(at: GlyphAtlas, rng: Rng, a: number, op: string, b: number, split: Split): Placed[] | null {
  const fonts = at.fonts(split);
  const S = IMAGE_SIZE;
  const A = String(a);
  const B = String(b);
  for (let tries = 0; tries < 400; tries++) {
    const font = rng.pick(fonts);
    const size = rng.pick(at.sizes);
    const adv = at.glyph(font, size, "0").advance;
    if (adv < CELL + 0.5) continue;
    const opadv = at.glyph(font, size, op).advance;
    const width = Math.max(A.length, B.length) * adv;
    const gap = size * uni(rng, 0.25, 0.6);
    const blockW = width + gap + opadv;
    const lh = size * uni(rng, 1.15, 1.5);
    const blockH = lh + size;
    if (blockW > S - 2 || blockH > S - 2) continue;
    const x0 = rng.int(1, Math.floor(S - 1 - blockW));
    const y0 = rng.int(1, Math.floor(S - 1 - blockH));
    if (((x0 + y0) % 3 === 0) !== (split === "test")) continue;
    const xr = x0 + blockW;
    const base1 = Math.round(y0 + size * 0.85);
    const base2 = Math.round(y0 + size * 0.85 + lh);
    const placed: Placed[] = [];
    for (let i = 0; i < A.length; i++)
      placed.push({ ch: A[i], x: Math.round(xr - (A.length - i) * adv), baseline: base1, font, size });
    placed.push({ ch: op, x: x0, baseline: base2, font, size });
    for (let i = 0; i < B.length; i++)
      placed.push({ ch: B[i], x: Math.round(xr - (B.length - i) * adv), baseline: base2, font, size });
    if (cellsOf(at, placed) !== null) return placed;
  }
  return null;
}

/** The cell labels of a placement, or null when a glyph's cell is ambiguous or taken. */
function cellsOf(at: GlyphAtlas, placed: Placed[]): string | null {
  const cells: string[] = new Array(GRID * GRID).fill(" ");
  for (const p of placed) {
    const g = at.glyph(p.font, p.size, p.ch);
    const cx = p.x + g.advance / 2;
    const cy = p.baseline - p.size * 0.36;
    const mx = cx % CELL;
    const my = cy % CELL;
    if (Math.min(mx, CELL - mx) < MARGIN || Math.min(my, CELL - my) < MARGIN) return null;
    const c = Math.floor(cy / CELL) * GRID + Math.floor(cx / CELL);
    const top = p.baseline - g.top;
    const left = p.x + g.left;
    if (cells[c] !== " " || left < 0 || left + g.w > IMAGE_SIZE || top < 0 || top + g.h > IMAGE_SIZE)
      return null;
    cells[c] = p.ch;
  }
  return cells.join("");
}

/** A problem and its placement, drawn again until every glyph has a well-defined cell. */
export function sampleProblem(at: GlyphAtlas, rng: Rng, split: Split): Problem {
  for (;;) {
    const { a, op, b } = operands(rng);
    const placed = layout(at, rng, a, op, b, split);
    if (placed) return { a, op, b, placed, cells: cellsOf(at, placed) as string };
  }
}

/** RGB (HWC, uint8) of a placement: background and ink colours with contrast, glyphs, noise. */
export function drawProblem(at: GlyphAtlas, rng: Rng, placed: readonly Placed[], noise = true): Uint8Array {
  const S = IMAGE_SIZE;
  let bg: number[];
  let fg: number[];
  do {
    bg = [uni(rng, 0, 255), uni(rng, 0, 255), uni(rng, 0, 255)];
    fg = [uni(rng, 0, 255), uni(rng, 0, 255), uni(rng, 0, 255)];
  } while (Math.abs((bg[0] + bg[1] + bg[2]) / 3 - (fg[0] + fg[1] + fg[2]) / 3) <= 90);
  const alpha = new Float32Array(S * S);
  for (const p of placed) {
    const g = at.glyph(p.font, p.size, p.ch);
    const y = p.baseline - g.top;
    const x = p.x + g.left;
    for (let r = 0; r < g.h; r++)
      for (let c = 0; c < g.w; c++) {
        const v = at.bitmaps[g.offset + r * g.w + c] / 255;
        const i = (y + r) * S + x + c;
        if (v > alpha[i]) alpha[i] = v;
      }
  }
  const sigma = noise ? uni(rng, 0, 10) : 0;
  const img = new Uint8Array(S * S * 3);
  for (let i = 0; i < S * S; i++)
    for (let ch = 0; ch < 3; ch++) {
      let v = bg[ch] * (1 - alpha[i]) + fg[ch] * alpha[i];
      if (sigma > 0) v += sigma * rng.normal();
      img[i * 3 + ch] = Math.min(255, Math.max(0, Math.round(v)));
    }
  return img;
}

/** RGB HWC uint8 -> normalized planar [3][S][S] ((v/255 - mean) / std), as the mmproj preprocessor. */
export function normalizeRgb(
  img: Uint8Array,
  S: number,
  mean: number,
  std: number,
  out: Float32Array,
  at = 0,
): void {
  for (let i = 0; i < S * S; i++)
    for (let ch = 0; ch < 3; ch++) out[at + ch * S * S + i] = (img[i * 3 + ch] / 255 - mean) / std;
}
