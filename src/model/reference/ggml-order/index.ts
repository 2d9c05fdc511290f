/**
 * REFERENCE ONLY: the plain-TS operator set that reproduces the float order of one llama.cpp
 * build (ggml's x86 AVX2+FMA CPU backend, the `haswell` library): its summation orders
 * (vec_dot, tinyBLAS, repacked Q4_0), its AVX2 activation quantizers (127/amax, round half to
 * even), its vectorised exp in softmax and SwiGLU, and the KV length padded to 32 in attention.
 *
 * The conformance tests run it (loadModel(..., { blockOps: ggmlOrderOps })) against llama.cpp so
 * that, against that build, logits agree to ~1e-6 and any larger difference is a real bug.
 * Against other builds (AVX-512: zen4, skylakex...) it is just another valid order, held to the
 * tolerances of test/conformance/harness.ts.
 *
 * Layering rule: nothing under src/ outside src/model/reference/ imports this folder (production
 * uses src/model/blocks/ops.ts `portableOps` and the KernelSets); only test/ and bench/ may.
 */
import type { BlockOps } from "../../blocks/ops.js";
import { attendGgml } from "./attention.js";
import { gegluGgml, swigluGgml } from "./dot.js";
import { matmulGgml } from "./matmul.js";

export const ggmlOrderOps: BlockOps = {
  name: "ggml-order (x86 AVX2 reference)",
  matmul: matmulGgml,
  siluMul: swigluGgml,
  geluMul: gegluGgml,
  attend: attendGgml,
};
export { dotGgml, dotTiny, dotVec, expfGgml, softmaxExpGgml, swigluGgml } from "./dot.js";
export { quantizeRowQ8_0Avx, quantizeRowQ8_1Avx } from "./qdot.js";
