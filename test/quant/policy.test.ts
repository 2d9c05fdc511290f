/**
 * Tensor type choice for a quantization target (src/quant/policy.ts): the plain K-quant target
 * gives Q6_K to the output projection only; the "_m" mixes also to every ffn_down; norms stay
 * F32; rows that the block does not divide fall back.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { GGMLType, ggmlTypeFromName } from "../../src/gguf/types.js";
import { chooseTensorType, parseQuantTarget } from "../../src/quant/policy.js";

const t = (name: string, dims: number[]) => ({ name, dims });

test("q4_k_m: Q6_K for output and ffn_down, Q4_K elsewhere, F32 norms", () => {
  const q = parseQuantTarget("q4_k_m", ggmlTypeFromName);
  assert.deepEqual(q, { type: GGMLType.Q4_K, q6Down: true });
  const pick = (name: string, dims = [2048, 2048]) => chooseTensorType(t(name, dims), q!.type, q!.q6Down);
  assert.equal(pick("output.weight", [2048, 32000]), GGMLType.Q6_K);
  assert.equal(pick("blk.3.ffn_down.weight", [5632, 2048]), GGMLType.Q6_K);
  assert.equal(pick("blk.3.ffn_gate.weight"), GGMLType.Q4_K);
  assert.equal(pick("blk.3.attn_q.weight"), GGMLType.Q4_K);
  assert.equal(pick("blk.3.attn_norm.weight", [2048]), GGMLType.F32);
  // 100 columns: neither the K-quant block (256) nor Q8_0 (32) divides the row: F16
  assert.equal(pick("blk.0.attn_k.weight", [100, 64]), GGMLType.F16);
});

test("plain q4_k keeps ffn_down at Q4_K; unknown names are undefined", () => {
  const q = parseQuantTarget("q4_k", ggmlTypeFromName)!;
  assert.equal(q.q6Down, false);
  assert.equal(chooseTensorType(t("blk.0.ffn_down.weight", [5632, 2048]), q.type, q.q6Down), GGMLType.Q4_K);
  assert.equal(chooseTensorType(t("output.weight", [2048, 32000]), q.type, q.q6Down), GGMLType.Q6_K);
  assert.equal(parseQuantTarget("q7_k_m", ggmlTypeFromName), undefined);
  assert.equal(parseQuantTarget("nonsense", ggmlTypeFromName), undefined);
});
