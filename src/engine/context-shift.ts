/**
 * Context shift (llama.cpp's n_keep / n_discard): when a generating sequence fills its context,
 * keep its first `keep` tokens (system prompt, attention sinks), drop the `n` tokens after them,
 * and slide the rest down by n positions, so generation continues instead of stopping.
 *
 * Two ways to make the kept tail's KV valid at its new positions, chosen per engine:
 *  - "rope" (default): K rows already carry RoPE at their old position p; rotating them by -n
 *    gives RoPE at p - n exactly (rotations compose), so the rows are moved down and rotated in
 *    place (quantized rows: dequantize, rotate, requantize, as llama.cpp's K shift does). V rows
 *    just move. Costs O(kept rows), no forward pass. The kept rows still "saw" the dropped tokens
 *    when they were computed (as in llama.cpp); that is the approximation.
 *  - "reprefill": truncate the cache at `keep`, recompute the kept tail with a forward pass
 *    (exact: as if the dropped tokens had never been there). Costs a prefill of the tail.
 * Rewritten blocks are made private first and never published to the prefix cache (their rows no
 * longer equal a fresh prefill of their tokens); a re-prefilled tail is a fresh prefill, so it is.
 */
import { InputError } from "../errors.js";
import type { PagedKVCache } from "../kv/paged-cache.js";
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
  const c = model.config;
  if (c.mla) throw new InputError("RoPE shift of an MLA latent cache is not supported; use reprefill");
  const len = cache.length;
  if (!(Number.isInteger(keep) && Number.isInteger(n) && keep >= 0 && n >= 1 && keep + n <= len))
    throw new InputError(`invalid context shift: keep ${keep}, drop ${n} of ${len}`);
  cache.prepareRewrite(keep);
  const kW = cache.shape.kWidth;
  const vW = cache.shape.vWidth;
  const kRow = new Float32Array(kW);
  const vRow = new Float32Array(vW);
  const ang = shiftAngles(model.rope, n);
  // Local (sliding-window) layers may rotate with another RoPE base (gemma3).
  const angSwa = model.ropeSwa ? shiftAngles(model.ropeSwa, n) : ang;
  for (let l = 0; l < c.nLayers; l++) {
    const local = model.ropeSwa !== undefined && (c.swaLayers?.[l] ?? false);
    const rope = local ? model.ropeSwa! : model.rope;
    for (let p = keep + n; p < len; p++) {
      cache.readRow("k", l, p, 0, kRow, 0, kW);
      // NoPE layers (smollm3) carry no rotation: their K rows just move.
      if (layerRoped(c, l)) rope.apply(kRow, 0, c.nHeadKV, c.headDimK, local ? angSwa : ang);
      cache.writeK(l, p - n, kRow, 0);
      cache.readRow("v", l, p, 0, vRow, 0, vW);
      cache.writeV(l, p - n, vRow, 0);
    }
  }
  cache.truncate(len - n);
}
