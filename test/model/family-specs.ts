// Factory-model pieces the small-model tests share: the per-family tests (conformance/families:
// each family against llama.cpp; engine/batch-families: each family batched against its own
// forward) check the same models, and conformance/llama, conformance/lora and model/load-memory
// start from the same tiny shape.
import type { TestModelSpec } from "../../src/model/factory/index.js";

/** The tiny shape these tests start from (cases override layers, heads, head size). */
export const TINY_SHAPE = {
  nEmbd: 64,
  nLayer: 2,
  nHead: 4,
  nHeadKv: 2,
  nFf: 96,
  nCtx: 256,
  nVocab: 333,
  weightStd: 0.15,
};

/** deepseek2 as DeepSeek-V3 configures it: MLA with a q LoRA, and MoE with sigmoid gating plus a
 *  selection bias, normalized weights scaled by 2.5, experts chosen within 2 of 4 groups. */
export const DEEPSEEK_V3_STYLE: TestModelSpec = {
  arch: "deepseek2",
  ...TINY_SHAPE,
  nHeadKv: 4,
  mla: { qLoraRank: 48, kvLoraRank: 32, nopeDim: 16, ropeDim: 16, vDim: 24 },
  moe: {
    nExpert: 16,
    nExpertUsed: 4,
    nFfExp: 16,
    nShared: 1,
    leadingDense: 0,
    gatingFunc: 2,
    weightsNorm: true,
    weightsScale: 2.5,
    probsBias: true,
    nGroup: 4,
    nGroupUsed: 2,
  },
};
