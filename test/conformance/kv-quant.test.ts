/**
 * Quantized KV caches vs llama.cpp's (node-llama-cpp, CPU, flash attention on: llama.cpp needs it
 * for a quantized V cache, and then runs ggml_compute_forward_flash_attn_ext: q quantized to Q8_0,
 * integer K block dots, V dequantized into an f32 accumulator — the order attention_paged_q
 * follows). Our side is the production path: WASM kernels, paged cache, rows read in place.
 *
 * Tolerance: both sides quantize K/V rows with the same quantizers (byte-identical on identical
 * input), so what differs is float summation order before quantization (~1e-6 relative). That
 * only matters where a value sits within that distance of a rounding boundary, where one quant
 * flips by a step (Q8_0: amax/127, Q4_0: amax/8 of its 32-block) — rare, and averaged by
 * attention over the positions. Measured errors are printed; the bound is 1e-3 x max|logit| +
 * 1e-4 for Q8_0 and 1e-2 x max|logit| for Q4_0, and greedy tokens must match except at a near-tie
 * (reference top-2 gap below 10x the bound). The stored rows are compared with llama.cpp's own
 * (its saved sequence state): at most 1% of their bytes may differ (a wrong rotation or quantizer
 * changes most; with an F16 V only layer 0's, whose inputs are the same on both sides), and the prompt's logits recomputed on llama.cpp's rows must meet the bound. Where
 * some bytes did flip, one step of one value can move random-weight logits past the bound (seen:
 * a Q8_0 value 3.5e-6 of a step from .5 in layer 1 gave 2.2x), so the end-to-end bound is then 10x.
 *
 * Hadamard rotation: llama.cpp (src/llama-kv-cache.cpp attn_rot_k / attn_rot_v) stores quantized
 * K (V) rows multiplied by an orthonormal Walsh-Hadamard matrix when head_dim % 64 == 0; ours does
 * the same (kv/hadamard.ts, same block sizes, same float order), so the head_dim 64 and 128
 * families run the reference as it ships (rotation on) against our default cache, and once more
 * with it off on both sides (LLAMA_ATTN_ROT_DISABLE=1 / rotate: false): the rows then differ from
 * the rotated ones by 0.07-0.3 in the logits, which is what the first comparison would show if
 * either side rotated and the other did not. head_dim 32 has no rotation on either side.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeTestModel, type TestModelSpec } from "../../src/model/factory/index.js";
import { loadModel } from "../../src/model/index.js";
import { createWasmKernelSet, type WasmKernelSet } from "../../src/kernels/wasm/wasm-kernel-set.js";
import { PagedKVCache } from "../../src/kv/paged-cache.js";
import { BlockPool } from "../../src/kv/paged-pool.js";
import { kvRowBytes, type KVType } from "../../src/kv/quant-kv.js";
import { kvRotation } from "../../src/kv/hadamard.js";
import { referenceRun, type RefKVType } from "./reference.js";
import { argmax } from "./harness.js";

let dir: string;
let ks: WasmKernelSet;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), "conf-kvq-"));
  ks = await createWasmKernelSet({ threads: 1 });
});
after(async () => {
  await ks.dispose();
  rmSync(dir, { recursive: true, force: true });
});

const PROMPT = [1, 17, 250, 3, 99, 42, 7, 300, 12, 5, 77, 123, 9, 200, 31, 64, 2, 8, 150, 47];
const small = { nEmbd: 128, nLayer: 2, nHead: 4, nFf: 96, nCtx: 256, nVocab: 333, weightStd: 0.15 };
const FAMILIES: [string, TestModelSpec][] = [
  ["llama (GQA 4/2, head_dim 32)", { arch: "llama", ...small, nHeadKv: 2 }],
  ["qwen3 (q/k norm, 1 KV head, head_dim 32)", { arch: "qwen3", ...small, headDim: 32, nHeadKv: 1 }],
  ["llama MoE 8 experts top-2", { arch: "llama", ...small, nHeadKv: 2, moe: { nExpert: 8, nExpertUsed: 2 } }],
  ["llama head_dim 64 (rotated in blocks of 64)", { arch: "llama", ...small, nHead: 2, nHeadKv: 1 }],
  [
    "qwen3 head_dim 128 (GQA 4/2; K rotated in blocks of 128, V of 64)",
    { arch: "qwen3", ...small, nEmbd: 256, nHead: 4, headDim: 128, nHeadKv: 2 },
  ],
];
const TYPES: [KVType, KVType][] = [
  ["q8_0", "q8_0"],
  ["q4_0", "q4_0"],
  ["q8_0", "f16"],
];
const N_GREEDY = 24;

for (const [fi, [name, spec]] of FAMILIES.entries()) {
  test(`${name}: Q8_0 / Q4_0 KV caches vs llama.cpp's`, async () => {
    const path = join(dir, `m${fi}.gguf`);
    await writeTestModel(path, { ...spec, seed: 5 + fi });
    const model = await loadModel(path, { kernels: ks });
    const c = model.config;
    const rotates = c.headDimK % 64 === 0;
    // Rotation as llama.cpp ships it; where it applies, once more with it off on both sides.
    for (const rotate of rotates ? [true, false] : [true])
      for (const [kt, vt] of TYPES) {
        // llama.cpp reads it when a context is created.
        if (rotate) delete process.env.LLAMA_ATTN_ROT_DISABLE;
        else process.env.LLAMA_ATTN_ROT_DISABLE = "1";
        const rot = kvRotation(kt, vt, c.headDimK, c.headDimV, { rotate });
        const label = `${name} ${kt}/${vt}${rotates ? ` rot ${rot.rotK}/${rot.rotV}` : ""}`;
        await compare(label, path, model, kt, vt, rot);
      }
    delete process.env.LLAMA_ATTN_ROT_DISABLE;
  });
}

async function compare(
  name: string,
  path: string,
  model: Awaited<ReturnType<typeof loadModel>>,
  kt: KVType,
  vt: KVType,
  rot: { rotK: number; rotV: number },
): Promise<void> {
  const c = model.config;
  const ref = await referenceRun(path, PROMPT, N_GREEDY, c.nVocab, {
    kv: kt.toUpperCase() as RefKVType,
    kvV: vt.toUpperCase() as RefKVType,
    flashAttention: true,
    kvState: true,
  });
  const newCache = (r: { rotK: number; rotV: number }) => {
    const pool = new BlockPool(
      {
        nLayers: c.nLayers,
        kWidth: c.nHeadKV * c.headDimK,
        vWidth: c.nHeadKV * c.headDimV,
        dtype: kt,
        dtypeV: vt,
        ...r,
        blockSize: 16,
        nBlocks: 4,
      },
      ks,
    );
    const cache = new PagedKVCache(pool, 64);
    cache.reserve(PROMPT.length + N_GREEDY);
    return cache;
  };
  const cache = newCache(rot);
  let logits = model.forward(PROMPT, cache)[0];
  let maxErr = 0;
  let scale = 0;
  for (let i = 0; i < logits.length; i++) {
    maxErr = Math.max(maxErr, Math.abs(logits[i] - ref.logits[i]));
    scale = Math.max(scale, Math.abs(ref.logits[i]));
  }
  // An F16 V cache under llama.cpp's flash attention is accumulated in half (VKQ16,
  // ggml_vec_mad_f16); ours accumulates in f32, so that case gets a half-precision bound.
  const tol =
    vt === "f16" ? 2e-2 * scale : kt === "q4_0" || vt === "q4_0" ? 1e-2 * scale : 1e-3 * scale + 1e-4;
  // Greedy, teacher-forced on the reference's tokens; every step's logits compared too.
  let stepErr = 0;
  let mismatches = 0;
  for (let s = 0; s < N_GREEDY; s++) {
    if (s > 0) {
      for (let i = 0; i < logits.length; i++)
        stepErr = Math.max(stepErr, Math.abs(logits[i] - ref.greedyLogits[s][i]));
    }
    const tok = argmax(logits);
    if (tok !== ref.greedy[s]) {
      const sorted = Array.from(ref.greedyLogits[s]).sort((a, b) => b - a);
      assert.ok(
        sorted[0] - sorted[1] < 10 * tol,
        `${name}: greedy differs at ${s} (gap ${sorted[0] - sorted[1]})`,
      );
      mismatches++;
    }
    if (s + 1 < N_GREEDY) logits = model.forward([ref.greedy[s]], cache)[0];
  }
  // Stored rows against llama.cpp's (its sequence state after the same run): bytes that differ
  // are values that rounded the other way, and the prompt's logits recomputed from llama.cpp's
  // own rows must then meet the bound (so the attention, rotation included, is the same math).
  const refKV = ref.kv!;
  const nPos = refKV.nCells;
  assert.equal(nPos, cache.length);
  // Layer 0's rows come from the same inputs on both sides; later layers' inputs carry the
  // other side's float order, which an F16 V (accumulated in half there) makes half-precision.
  const checkedLayers = vt === "f16" ? 1 : c.nLayers;
  let flips = 0;
  let total = 0;
  const rowBytes = (l: number, which: "k" | "v") => {
    const st = which === "k" ? cache.pool.k[l] : cache.pool.v[l];
    return new Uint8Array(st.buffer, st.byteOffset, st.byteLength);
  };
  const rowLen = (which: "k" | "v") =>
    which === "k" ? kvRowBytes(kt, c.nHeadKV * c.headDimK) : kvRowBytes(vt, c.nHeadKV * c.headDimV);
  const rowAt = (p: number) => cache.blocks[Math.floor(p / 16)] * 16 + (p % 16);
  for (let l = 0; l < checkedLayers; l++)
    for (const which of ["k", "v"] as const) {
      const ours = rowBytes(l, which);
      const theirs = which === "k" ? refKV.k[l] : refKV.v[l];
      const n = rowLen(which);
      for (let p = 0; p < nPos; p++)
        for (let i = 0; i < n; i++) {
          total++;
          if (ours[rowAt(p) * n + i] !== theirs[p * n + i]) flips++;
        }
    }
  const forced = newCache(rot);
  model.forward(PROMPT.slice(0, -1), forced);
  for (let l = 0; l < c.nLayers; l++)
    for (const which of ["k", "v"] as const) {
      const n = rowLen(which);
      const dst = new Uint8Array(
        (which === "k" ? forced.pool.k[l] : forced.pool.v[l]).buffer,
        (which === "k" ? forced.pool.k[l] : forced.pool.v[l]).byteOffset,
      );
      const src = which === "k" ? refKV.k[l] : refKV.v[l];
      for (let p = 0; p < PROMPT.length - 1; p++) {
        const r = forced.blocks[Math.floor(p / 16)] * 16 + (p % 16);
        dst.set(src.subarray(p * n, (p + 1) * n), r * n);
      }
    }
  const fl = model.forward(PROMPT.slice(-1), forced)[0];
  let forcedErr = 0;
  for (let i = 0; i < fl.length; i++) forcedErr = Math.max(forcedErr, Math.abs(fl[i] - ref.logits[i]));
  console.log(
    `# ${name}: prompt max |dlogit| ${maxErr.toExponential(2)}, over ${N_GREEDY} greedy steps ${stepErr.toExponential(2)} (max |logit| ${scale.toFixed(2)}, tol ${tol.toExponential(1)}), greedy mismatches ${mismatches}; stored KV bytes differing ${flips}/${total}${checkedLayers < c.nLayers ? " (layer 0)" : ""}, prompt logits on llama.cpp's rows ${forcedErr.toExponential(2)}`,
  );
  assert.ok(forcedErr <= tol, `${name}: on llama.cpp's own KV rows ${forcedErr} > ${tol}`);
  // A wrong rotation or quantizer changes most bytes; rounding-boundary flips are rare.
  assert.ok(flips <= 0.01 * total, `${name}: ${flips} of ${total} stored KV bytes differ`);
  // A flipped value moves by a whole quantization step, which random weights can amplify past
  // the bound; with flips present (and the rows-forced logits above in bound) allow 10x.
  const slack = flips > 0 ? 10 : 1;
  assert.ok(maxErr <= slack * tol, `${name}: ${maxErr} > ${slack} x ${tol}`);
  // (F16 V: half accumulation on their side can flip a MoE router's expert choice at a later
  // step, so only the prompt's logits are bounded there.)
  if (vt !== "f16") assert.ok(stepErr <= slack * tol * 2, `${name}: steps ${stepErr}`);
  if (rot.rotK || rot.rotV) {
    // The comparison sees the rotation: our cache without it misses the rotating reference.
    const plain = model.forward(PROMPT, newCache({ rotK: 0, rotV: 0 }))[0];
    let off = 0;
    for (let i = 0; i < plain.length; i++) off = Math.max(off, Math.abs(plain[i] - ref.logits[i]));
    console.log(`#   (unrotated cache vs this reference: max |dlogit| ${off.toExponential(2)})`);
    if (kt === "q8_0" && vt === "q8_0") assert.ok(off > tol, `${name}: rotation made no difference`);
  }
}
