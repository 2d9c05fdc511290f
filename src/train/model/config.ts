/**
 * Hyper-parameters of the llama-architecture training model; the same numbers become the GGUF
 * `llama.*` keys on export.
 */
import { InputError } from "../../errors.js";

export interface TrainModelConfig {
  vocab: number;
  /** model width C */
  dim: number;
  layers: number;
  heads: number;
  kvHeads: number;
  /** SwiGLU hidden width F */
  ffn: number;
  /** max sequence length trained on (llama.context_length) */
  ctx: number;
  ropeBase: number;
  normEps: number;
  /** output projection shares token_embd (no output.weight tensor) */
  tied: boolean;
}

export function headDim(c: TrainModelConfig): number {
  return c.dim / c.heads;
}

export function validateConfig(c: TrainModelConfig): void {
  const pos = (v: number, f: string) => {
    if (!Number.isInteger(v) || v <= 0)
      throw new InputError(`${f} must be a positive integer, got ${v}`, { field: f });
  };
  pos(c.vocab, "vocab");
  pos(c.dim, "dim");
  pos(c.layers, "layers");
  pos(c.heads, "heads");
  pos(c.kvHeads, "kvHeads");
  pos(c.ffn, "ffn");
  pos(c.ctx, "ctx");
  if (c.dim % c.heads !== 0)
    throw new InputError(`dim ${c.dim} is not a multiple of heads ${c.heads}`, { field: "heads" });
  if (headDim(c) % 2 !== 0)
    throw new InputError(`head dim ${headDim(c)} must be even for RoPE`, { field: "heads" });
  if (c.heads % c.kvHeads !== 0)
    throw new InputError(`heads ${c.heads} is not a multiple of kvHeads ${c.kvHeads}`, { field: "kvHeads" });
  if (!(c.ropeBase > 1)) throw new InputError(`ropeBase must be > 1`, { field: "ropeBase" });
  if (!(c.normEps > 0)) throw new InputError(`normEps must be > 0`, { field: "normEps" });
}
