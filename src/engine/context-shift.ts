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
import { layerRoped, layerWindow, type Transformer } from "../model/forward.js";
import { observedScores } from "../kv/attn-scores.js";
import type { EvictionPolicy } from "../kv/eviction.js";
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
  const map = new Map(moves);
  const d0 = drop[0];
  moveObserved(model, cache, (p) => (p < d0 ? p : (map.get(p) ?? -1)));
  cache.truncate(newLen);
}

/** The observed queries (kv/obs-queries.ts) follow their positions, RoPE-shifted as K rows are. */
function moveObserved(model: Transformer, cache: PagedKVCache, to: (p: number) => number): void {
  const obs = cache.observed;
  if (!obs) return;
  const c = model.config;
  const rotK = cache.shape.rotK ?? 0;
  obs.move(to, (l, row, d) => {
    if (!layerRoped(c, l)) return;
    const local = model.ropeSwa !== undefined && (c.swaLayers?.[l] ?? false);
    if (rotK) hadamardRows(row, 0, row.length, rotK);
    (local ? model.ropeSwa! : model.rope).apply(
      row,
      0,
      c.nHead,
      c.headDimK,
      shiftAngles(local ? model.ropeSwa! : model.rope, d),
    );
    if (rotK) hadamardRows(row, 0, row.length, rotK);
  });
}

/**
 * Per-head compaction (kv/eviction.ts, SnapKV): `keep[l][kh]` lists the positions KV head kh of
 * layer l keeps (ascending, all lists of one length n, each ending at the newest position). Rows
 * 0..n-1 are rewritten: head kh's slice of row i comes from its i-th kept position, its K
 * RoPE-shifted by the distance moved; the cache is then cut to n. Rows move down only (the i-th
 * kept position is >= i), so ascending i never reads a row it already rewrote. The observed
 * queries (the newest positions, kept by every head) move with them. Positions no longer name one
 * token each: the caller keeps the newest n tokens as the sequence's token list.
 */
export function compactPerHead(
  model: Transformer,
  cache: PagedKVCache,
  keep: readonly (readonly number[])[][],
): void {
  const c = model.config;
  if (
    c.mla ||
    c.recurrentLayers?.some((r) => r) ||
    Array.from({ length: c.nLayers }, (_, l) => layerWindow(c, l)).some((w) => w > 0)
  )
    throw new InputError(
      "per-head KV eviction needs a model whose every layer is full attention (no MLA, recurrent or windowed layers)",
    );
  const len = cache.length;
  const n = keep[0]?.[0]?.length ?? 0;
  let first = n; // the first slot any head rewrites
  for (const layer of keep)
    for (const ks of layer) {
      if (ks.length !== n || !(n >= 1 && n <= len) || ks[n - 1] !== len - 1)
        throw new InputError(
          `per-head kept positions must be ${n} per head, ascending, ending at ${len - 1}`,
        );
      for (let i = 0; i < n; i++) {
        if (!(Number.isInteger(ks[i]) && ks[i] >= i && (i === 0 || ks[i] > ks[i - 1])))
          throw new InputError(`invalid kept positions: ${ks.slice(0, 8).join(",")}... of ${len}`);
        if (ks[i] !== i) first = Math.min(first, i);
      }
    }
  if (keep.length !== c.nLayers || keep.some((l) => l.length !== c.nHeadKV))
    throw new InputError(`per-head kept positions need ${c.nLayers} layers x ${c.nHeadKV} KV heads`);
  cache.prepareRewrite(first, n);
  const hd = c.headDimK;
  const hv = c.headDimV;
  const kW = cache.shape.kWidth;
  const vW = cache.shape.vWidth;
  const rotK = cache.shape.rotK ?? 0;
  const src = new Float32Array(kW);
  const kRow = new Float32Array(kW);
  const vRow = new Float32Array(vW);
  const memo = new Map<number, RopeAngles>();
  for (let l = 0; l < c.nLayers; l++) {
    const roped = layerRoped(c, l);
    for (let i = first; i < n; i++) {
      for (let kh = 0; kh < c.nHeadKV; kh++) {
        const p = keep[l][kh][i];
        cache.readRow("k", l, p, 0, src, 0, kW);
        // Hadamard blocks lie within a head (kv/hadamard.ts), so a head's slice rotates alone.
        if (rotK) hadamardRows(src, kh * hd, hd, rotK);
        if (roped && p !== i) {
          let a = memo.get(p - i);
          if (!a) memo.set(p - i, (a = shiftAngles(model.rope, p - i)));
          model.rope.apply(src, kh * hd, 1, hd, a);
        }
        kRow.set(src.subarray(kh * hd, (kh + 1) * hd), kh * hd);
        // V slices move as stored (rotated or not: per-head blocks).
        cache.readRow("v", l, p, kh * hv, vRow, kh * hv, hv);
      }
      if (rotK) hadamardRows(kRow, 0, kW, rotK);
      cache.writeK(l, i, kRow, 0);
      cache.writeV(l, i, vRow, 0);
    }
  }
  cache.attnScores?.fill(0);
  // Observed queries follow where every head kept the same newest positions (the window).
  let tail = 0;
  while (tail < n && keep.every((layer) => layer.every((ks) => ks[n - 1 - tail] === len - 1 - tail))) tail++;
  moveObserved(model, cache, (p) => (p >= len - tail ? p - (len - n) : -1));
  cache.truncate(n);
}

/**
 * A per-head policy's eviction (SnapKV): score every position per layer and KV head with the
 * observed queries, let the policy choose, compact. Returns how many positions each head dropped.
 */
export function evictPerHead(model: Transformer, cache: PagedKVCache, policy: EvictionPolicy): number {
  const c = model.config;
  const obs = cache.observed;
  if (!policy.selectPerHead || !obs)
    throw new InputError(`policy ${policy.name} is not per-head, or no queries were observed`);
  const len = cache.length;
  const hd = c.headDimK;
  const scratch = model.buf("attn_scores_k", len * hd);
  const scores = Array.from({ length: c.nLayers }, (_, l) =>
    observedScores(
      {
        nHead: c.nHead,
        nHeadKV: c.nHeadKV,
        headDim: hd,
        scale: c.spec.scaleQ ? 1 : c.attnScale,
        window: 0,
        softcap: c.attnSoftcap,
      },
      cache,
      l,
      obs,
      len,
      scratch,
    ),
  );
  const keep = policy.selectPerHead(len, scores);
  compactPerHead(model, cache, keep);
  return len - cache.length;
}
