/**
 * Context shift (llama.cpp's n_keep / n_discard): when a generating sequence fills its context,
 * keep its first `keep` tokens (system prompt, attention sinks), drop the `n` tokens after them,
 * and slide the rest down by n positions, so generation continues instead of stopping.
 *
 * Two ways to make the kept tail's KV valid at its new positions, chosen per engine:
 *  - "rope" (default): K rows already carry RoPE at their old position p; rotating them by -n
 *    gives RoPE at p - n exactly (rotations compose), so the rows are moved down and rotated in
 *    place (quantized rows: dequantize, rotate, requantize, as llama.cpp's K shift does; rows
 *    stored Hadamard-rotated are rotated back around the RoPE step, kv/hadamard.ts). V rows
 *    just move. Costs O(kept rows), no forward pass. The kept rows still "saw" the dropped tokens
 *    when they were computed (as in llama.cpp); that is the approximation.
 *  - "reprefill": truncate the cache at `keep`, recompute the kept tail with a forward pass
 *    (exact: as if the dropped tokens had never been there). Costs a prefill of the tail.
 * Rewritten blocks are made private first and never published to the prefix cache (their rows no
 * longer equal a fresh prefill of their tokens); a re-prefilled tail is a fresh prefill, so it is.
 */
import { InputError } from "../errors.js";
import type { PagedKVCache } from "../kv/paged-cache.js";
import { hadamardRows } from "../kv/hadamard.js";
import { layerRoped, type Transformer } from "../model/forward.js";
import type { Rope, RopeAngles } from "../model/blocks/rope.js";

export type ContextShiftMode = "rope" | "reprefill";

/** Per request: keep this many leading tokens when the context fills (the rest shifts). */
export interface ContextShiftRequest {
  keep: number;
}

/** How many tokens a shift drops: half of what follows the kept prefix (llama.cpp's n_discard). */
export function discardCount(length: number, keep: number): number {
  return Math.max(1, Math.floor((length - keep) / 2));
}

/** Rotation by -n positions (RoPE angles of -n with the attention factor divided out). */
function shiftAngles(rope: Rope, n: number): RopeAngles {
  const a = rope.angles(-n);
  for (let i = 0; i < a.cos.length; i++) {
    const r = Math.hypot(a.cos[i], a.sin[i]) || 1;
    a.cos[i] /= r;
    a.sin[i] /= r;
  }
  return a;
}

/**
 * Drop positions [keep, keep + n) of `cache` and move positions [keep + n, length) down by n,
 * RoPE-shifting their K rows in place. The caller drops the same tokens from its token list.
 */
export function ropeShift(model: Transformer, cache: PagedKVCache, keep: number, n: number): void {
  const len = cache.length;
  if (!(Number.isInteger(keep) && Number.isInteger(n) && keep >= 0 && n >= 1 && keep + n <= len))
    throw new InputError(`invalid context shift: keep ${keep}, drop ${n} of ${len}`);
  compactRows(
    model,
    cache,
    Array.from({ length: n }, (_, i) => keep + i),
  );
}

/**
 * Drop the positions in `drop` (ascending, distinct, < length) and move every kept position after
 * the first dropped one down to close the gaps, each K row RoPE-shifted by its own distance (a
 * scored eviction's token set; a context shift is the one-run case). Accumulated attention
 * scores move with their rows. The caller drops the same tokens from its token list.
 */
export function compactRows(model: Transformer, cache: PagedKVCache, drop: readonly number[]): void {
  const c = model.config;
  if (c.mla) throw new InputError("RoPE shift of an MLA latent cache is not supported; use reprefill");
  const len = cache.length;
  for (let i = 0; i < drop.length; i++)
    if (!(Number.isInteger(drop[i]) && drop[i] >= 0 && drop[i] < len && (i === 0 || drop[i] > drop[i - 1])))
      throw new InputError(`invalid positions to drop: ${drop.slice(0, 8).join(",")}... of ${len}`);
  if (drop.length === 0) return;
  const newLen = len - drop.length;
  cache.prepareRewrite(drop[0], newLen);
  const kW = cache.shape.kWidth;
  const vW = cache.shape.vWidth;
  const rotK = cache.shape.rotK ?? 0;
  const kRow = new Float32Array(kW);
  const vRow = new Float32Array(vW);
  // Rotation by -d for each distance d a row moves (memoized; one distance for a context shift).
  const memo = new Map<number, [RopeAngles, RopeAngles]>();
  const anglesFor = (d: number): [RopeAngles, RopeAngles] => {
    let a = memo.get(d);
    if (!a) {
      const g = shiftAngles(model.rope, d);
      // Local (sliding-window) layers may rotate with another RoPE base (gemma3).
      a = [g, model.ropeSwa ? shiftAngles(model.ropeSwa, d) : g];
      memo.set(d, a);
    }
    return a;
  };
  // moves[i] = [from, to] for every kept position after the first dropped one.
  const moves: [number, number][] = [];
  let w = drop[0];
  for (let p = drop[0], di = 0; p < len; p++) {
    if (di < drop.length && drop[di] === p) {
      di++;
      continue;
    }
    moves.push([p, w++]);
  }
  for (let l = 0; l < c.nLayers; l++) {
    const local = model.ropeSwa !== undefined && (c.swaLayers?.[l] ?? false);
    const rope = local ? model.ropeSwa! : model.rope;
    // A windowed KV group keeps only what the window of position newLen reaches (older rows of
    // it were given back): rows moving below that are never read again.
    const lowest = cache.rewriteFrom(cache.groupWindow(l), drop[0], newLen);
    for (const [from, to] of moves) {
      if (to < lowest) continue;
      const [ang, angSwa] = anglesFor(from - to);
      cache.readRow("k", l, from, 0, kRow, 0, kW);
      // Rotated rows (kv/hadamard.ts): back to the RoPE basis, shift, rotate again.
      if (rotK) hadamardRows(kRow, 0, kW, rotK);
      // NoPE layers (smollm3) carry no rotation: their K rows just move.
      if (layerRoped(c, l)) rope.apply(kRow, 0, c.nHeadKV, c.headDimK, local ? angSwa : ang);
      if (rotK) hadamardRows(kRow, 0, kW, rotK);
      cache.writeK(l, to, kRow, 0);
      cache.readRow("v", l, from, 0, vRow, 0, vW);
      cache.writeV(l, to, vRow, 0);
    }
  }
  const sc = cache.attnScores;
  if (sc) for (const [from, to] of moves) sc[to] = sc[from];
  cache.truncate(newLen);
}
