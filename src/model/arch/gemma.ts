/**
 * gemma2 / gemma3: embeddings scaled by sqrt(nEmbd), RMSNorms before and after attention and FFN
 * (the converter stores Gemma's (1 + w) norm weights already offset, so they load as-is), GeGLU
 * FFN with tanh GELU, q scaled by 1/sqrt(head_dim) after RoPE, NEOX RoPE, tied embeddings,
 * interleaved sliding-window (local) and global layers.
 *  - gemma2: local/global alternate (pattern 2), attention scores and final logits soft-capped
 *    (defaults 50 and 30), local layers share the global RoPE base unless `rope.freq_base_swa`.
 *  - gemma3: 5 local : 1 global (pattern 6), per-head q/k RMSNorm, no attention soft-capping,
 *    final soft-capping only when the file says so, local RoPE base 10000 unless `rope.freq_base_swa`.
 */
import { BASE_SPEC, type ArchSpec } from "./spec.js";

const GEMMA = {
  ...BASE_SPEC,
  ropeOrder: "neox",
  scaleQ: true,
  embedScale: true,
  postNorms: true,
  ffnAct: "gelu",
} as const;

export const GEMMA2: ArchSpec = {
  ...GEMMA,
  name: "gemma2",
  swaPattern: { n: 2, defaultWindow: 4096 },
  ropeBaseSwaDefault: "global",
  attnSoftcapDefault: 50,
  finalSoftcapDefault: 30,
  qScaleEmbdPerHeadAtLayers: 46,
};

export const GEMMA3: ArchSpec = {
  ...GEMMA,
  name: "gemma3",
  qkNorm: true,
  swaPattern: { n: 6, defaultWindow: 0 },
  ropeBaseSwaDefault: 10000,
  qScaleEmbdPerHeadAtLayers: 62,
};
