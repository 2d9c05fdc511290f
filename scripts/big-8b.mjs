// The 8B-shape random llama of issue 23's checks (scripts/big-model.mjs, scripts/browser-big.mjs):
// Llama-3.1-8B's shapes (4096 embedding, 32/8 heads, 14336 FFN, 128256 vocabulary), Q4_K
// matrices and a Q6_K output written as random valid blocks (~4.7 GB at 32 layers;
// src/model/factory/random-blocks.ts). One definition, so a file one script kept (--keep) is the
// model the other expects at the same default path.
import { tmpdir } from "node:os";
import { join } from "node:path";

const { GGMLType } = await import(new URL("../dist/src/gguf/types.js", import.meta.url).href);

/** Where both scripts write (and, with --keep, leave) the file. */
export const BIG_8B_PATH = join(tmpdir(), "edgellm-big-8b.gguf");

/** A short English prompt in Llama 3's vocabulary (BOS first). */
export const BIG_8B_PROMPT = [128000, 791, 4062, 14198, 39935, 35308, 927, 279, 16053, 5679, 13];

/** writeTestModel spec: the 8B shapes with `nLayer` layers (fewer than 32: a quick dry run). */
export function big8bSpec(nLayer) {
  return {
    arch: "llama",
    name: "edgellm-big-8b-random",
    nEmbd: 4096,
    nLayer,
    nHead: 32,
    nHeadKv: 8,
    nFf: 14336,
    nCtx: 4096,
    ropeFreqBase: 500000,
    nVocab: 128256,
    weightStd: 0.02,
    randomBlocks: true,
    types: { weights: GGMLType.Q4_K, output: GGMLType.Q6_K },
  };
}
