/**
 * Problem shapes for choosing RL prompts: GRPO only learns from groups whose rewards differ, so a
 * run should train on the shapes the policy solves sometimes (a pass rate of ~15-85%), not on the
 * ones it always or never solves.
 *   shape   × "AxB": digits of the larger factor x digits of the smaller (key mul:<smaller>:<larger>,
 *           so "858 × 93" = mul:93:858 is "3x2"); word problems "word<steps>" (operators in the
 *           key's expression: word2:10:463+9+49 is "word2"); add/sub "<kind><digits>".
 *   band    pool the probe's per-prompt pass rates by shape and keep the shapes whose rate lies
 *           in [lo, hi].
 */
import { InputError } from "../../errors.js";

const SHAPE = /^(\d+x\d+|word\d+|add\d+|sub\d+)$/;

/** The shape of a corpus key (generate.ts keys: "mul:93:858", "word2:10:463+9+49", ...). */
export function problemShape(key: string, digits = 0): string {
  const [kind, a, b] = key.split(":");
  if (kind === "mul" && /^\d+$/.test(a ?? "") && /^\d+$/.test(b ?? "")) return `${b.length}x${a.length}`;
  if (kind.startsWith("word") && b !== undefined) return `word${(b.match(/[-+×*/]/g) ?? []).length}`;
  if (kind === "add" || kind === "sub") return `${kind}${digits}`;
  throw new InputError(`no shape for problem key '${key}'`, { field: "key" });
}

/** "3x2,3x1,word2" -> the shapes; typed error on anything else. */
export function parseShapes(s: string): string[] {
  const out = s
    .split(",")
    .map((x) => x.trim())
    .filter((x) => x.length > 0);
  if (out.length === 0) throw new InputError("--shapes needs at least one shape", { field: "shapes" });
  for (const x of out)
    if (!SHAPE.test(x))
      throw new InputError(`unknown shape '${x}' (× AxB such as 3x2, word<steps>, add<d>, sub<d>)`, {
        field: "shapes",
      });
  return out;
}

/** "0.15,0.85" -> [0.15, 0.85] with 0 <= lo < hi <= 1. */
export function parseBand(s: string): [number, number] {
  const p = s.split(",").map(Number);
  if (p.length !== 2 || !p.every(Number.isFinite) || p[0] < 0 || p[1] > 1 || p[0] >= p[1])
    throw new InputError(`--band must be 'lo,hi' with 0 <= lo < hi <= 1, got '${s}'`, { field: "band" });
  return [p[0], p[1]];
}

export interface ShapeRate {
  shape: string;
  prompts: number;
  /** mean pass rate of the shape's prompts */
  rate: number;
  inBand: boolean;
}

/** Pass rate per shape (pooled over its prompts), and whether it lies in [lo, hi]; sorted by shape. */
export function shapeRates(
  shapes: readonly string[],
  passRates: readonly number[],
  band: readonly [number, number],
): ShapeRate[] {
  if (shapes.length !== passRates.length)
    throw new InputError(`${shapes.length} shapes for ${passRates.length} pass rates`, { field: "shapes" });
  const by = new Map<string, number[]>();
  shapes.forEach((s, i) => (by.get(s) ?? by.set(s, []).get(s)!).push(passRates[i]));
  return [...by.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([shape, r]) => {
      const rate = r.reduce((a, b) => a + b, 0) / r.length;
      return { shape, prompts: r.length, rate, inBand: rate >= band[0] && rate <= band[1] };
    });
}

/**
 * Indices of the prompts to train on: mixed rewards of their own (0 < rate < 1: the group carries
 * a signal) and a shape whose pooled rate lies in the band.
 */
export function selectInBand(
  shapes: readonly string[],
  passRates: readonly number[],
  band: readonly [number, number],
): number[] {
  const ok = new Set(
    shapeRates(shapes, passRates, band)
      .filter((s) => s.inBand)
      .map((s) => s.shape),
  );
  return passRates.flatMap((r, i) => (r > 0 && r < 1 && ok.has(shapes[i]) ? [i] : []));
}
