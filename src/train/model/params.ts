/**
 * All weights of the model in one flat buffer (and grads / Adam moments in buffers of the same
 * layout), addressed by GGUF tensor name. Shapes are row-major (rows, cols) = GGUF dims reversed:
 *   token_embd.weight        (V, C)
 *   blk.N.attn_norm.weight   (C)
 *   blk.N.attn_q.weight      (nH*hd, C)     blk.N.attn_k/v.weight  (nKV*hd, C)
 *   blk.N.attn_output.weight (C, nH*hd)
 *   blk.N.ffn_norm.weight    (C)
 *   blk.N.ffn_gate/up.weight (F, C)         blk.N.ffn_down.weight  (C, F)
 *   output_norm.weight       (C)
 *   output.weight            (V, C)         only when untied
 */
import type { Rng } from "../../sampling/rng.js";
import type { Buf } from "../ops/buf.js";
import { headDim, validateConfig, type TrainModelConfig } from "./config.js";

export interface ParamEntry {
  name: string;
  /** row-major shape; GGUF dims are this reversed */
  shape: number[];
  offset: number;
  size: number;
  /** matrices get weight decay, norm gains do not */
  decay: boolean;
}

export interface ParamLayout {
  entries: ParamEntry[];
  byName: Map<string, ParamEntry>;
  total: number;
}

export function paramLayout(c: TrainModelConfig): ParamLayout {
  validateConfig(c);
  const hd = headDim(c);
  const entries: ParamEntry[] = [];
  let offset = 0;
  const add = (name: string, shape: number[]) => {
    const size = shape.reduce((a, b) => a * b, 1);
    entries.push({ name, shape, offset, size, decay: shape.length > 1 });
    offset += size;
  };
  add("token_embd.weight", [c.vocab, c.dim]);
  for (let l = 0; l < c.layers; l++) {
    add(`blk.${l}.attn_norm.weight`, [c.dim]);
    add(`blk.${l}.attn_q.weight`, [c.heads * hd, c.dim]);
    add(`blk.${l}.attn_k.weight`, [c.kvHeads * hd, c.dim]);
    add(`blk.${l}.attn_v.weight`, [c.kvHeads * hd, c.dim]);
    add(`blk.${l}.attn_output.weight`, [c.dim, c.heads * hd]);
    add(`blk.${l}.ffn_norm.weight`, [c.dim]);
    add(`blk.${l}.ffn_gate.weight`, [c.ffn, c.dim]);
    add(`blk.${l}.ffn_up.weight`, [c.ffn, c.dim]);
    add(`blk.${l}.ffn_down.weight`, [c.dim, c.ffn]);
  }
  add("output_norm.weight", [c.dim]);
  if (!c.tied) add("output.weight", [c.vocab, c.dim]);
  return { entries, byName: new Map(entries.map((e) => [e.name, e])), total: offset };
}

export function view(buf: Buf, e: ParamEntry): Buf {
  return buf.subarray(e.offset, e.offset + e.size);
}

/**
 * GPT-2 style init: N(0, 0.02) for matrices, the two residual-output projections (attn_output,
 * ffn_down) scaled by 1/sqrt(2 * layers), norm gains 1.
 */
export function initParams(params: Buf, layout: ParamLayout, c: TrainModelConfig, rng: Rng): void {
  const resid = 0.02 / Math.sqrt(2 * c.layers);
  for (const e of layout.entries) {
    const v = view(params, e);
    if (!e.decay) {
      v.fill(1);
      continue;
    }
    const std = e.name.endsWith("attn_output.weight") || e.name.endsWith("ffn_down.weight") ? resid : 0.02;
    for (let i = 0; i < v.length; i++) v[i] = rng.normal() * std;
  }
}
