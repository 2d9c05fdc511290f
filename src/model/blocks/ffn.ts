/**
 * Gated feed-forward (SwiGLU): out = W_down (silu(W_gate x) * (W_up x)), batched over tokens.
 * A fused gate/up weight (phi3) holds [gate rows; up rows] in one matrix. Plain-TS form (MoE
 * experts, models without a KernelSet); the KernelSet form is forward.ts ffnBlock.
 */
import type { Weight } from "../weights.js";
import type { BlockOps } from "./ops.js";
import type { FfnAct } from "../arch/spec.js";

export interface FfnWeights {
  gate: Weight | undefined;
  up: Weight;
  down: Weight;
  /** up holds [gate; up] stacked (2 * nFF rows). */
  fused: boolean;
}

export { geluTanh, silu } from "./activation.js";

/**
 * x: [nTok, nEmbd] -> out: [nTok, nEmbd]. `act`: the gate activation (SwiGLU or GeGLU). `vecOrder`: the products are a MoE's expert products
 * (BlockOps.matmul). SwiGLU runs per row (a reference set's vector exp covers blocks within a row).
 */
export function swiglu(
  ops: BlockOps,
  w: FfnWeights,
  x: Float32Array,
  nTok: number,
  out: Float32Array,
  vecOrder = false,
  act: FfnAct = "silu",
): void {
  const mul = act === "gelu" ? ops.geluMul : ops.siluMul;
  const nFF = w.down.cols;
  const h = new Float32Array(nTok * nFF);
  if (w.fused) {
    const gu = new Float32Array(nTok * 2 * nFF);
    ops.matmul(w.up, x, nTok, gu, w.up.cols, w.up.rows, vecOrder);
    for (let t = 0; t < nTok; t++) mul.call(ops, gu, t * 2 * nFF, gu, t * 2 * nFF + nFF, h, t * nFF, nFF);
  } else {
    const g = new Float32Array(nTok * nFF);
    ops.matmul(w.gate!, x, nTok, g, w.gate!.cols, w.gate!.rows, vecOrder);
    ops.matmul(w.up, x, nTok, h, w.up.cols, w.up.rows, vecOrder);
    for (let t = 0; t < nTok; t++) mul.call(ops, g, t * nFF, h, t * nFF, h, t * nFF, nFF);
  }
  ops.matmul(w.down, h, nTok, out, w.down.cols, w.down.rows, vecOrder);
}
