/**
 * `lora merge`: the merged model's logits equal the unmerged base + adapter (F32: float-sum order
 * only, <= 1e-4; Q8_0 base re-encoded to Q8_0: the merged matrix's own rounding, bounded by the
 * rounding budget of a Q8_0 model vs its F32 original on the same random weights) and the greedy
 * tokens agree; the CLI writes the same file as the library. Q8_0's bound is measured, not
 * guessed: the unmerged run carries the rounding of W to Q8_0, the merged one the rounding of
 * W + delta instead, two independent roundings of the same size; each moves the logits by about as
 * much as rounding the F32 model's weights to Q8_0 does (E, measured here on the same random
 * weights), so |merged - unmerged| <= 2 E.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { fileURLToPath } from "node:url";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GGMLType } from "../../src/gguf/types.js";
import { writeTestModel, type TestModelSpec } from "../../src/model/factory/index.js";
import { writeTestAdapter } from "../../src/model/factory/lora.js";
import { loadLoraAdapter, loadModel, type Transformer } from "../../src/model/index.js";
import { mergeLora } from "../../src/model/lora-merge.js";
import type { LoraRef } from "../../src/model/lora.js";

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), "lora-merge-"));
});
after(() => rmSync(dir, { recursive: true, force: true }));

const spec: TestModelSpec = {
  arch: "llama",
  nEmbd: 64,
  nLayer: 2,
  nHead: 4,
  nHeadKv: 2,
  nFf: 96,
  nCtx: 128,
  nVocab: 300,
  weightStd: 0.15,
};
const PROMPT = [1, 17, 250, 3, 99, 42, 7];

/** Greedy run (or teacher-forced on `force`): argmax tokens and the logits at each step. */
function greedy(
  m: Transformer,
  lora: LoraRef[],
  n = 8,
  force?: number[],
): { toks: number[]; logits: Float32Array[] } {
  const cache = m.newCache(PROMPT.length + n + 1);
  let l = m.forward(PROMPT, cache, undefined, { lora })[0];
  const toks: number[] = [];
  const logits: Float32Array[] = [];
  for (let i = 0; i < n; i++) {
    logits.push(l.slice());
    let b = 0;
    for (let j = 1; j < l.length; j++) if (l[j] > l[b]) b = j;
    toks.push(b);
    l = m.forward([force ? force[i] : b], cache, undefined, { lora })[0];
  }
  return { toks, logits };
}

const maxAbs = (a: Float32Array[], b: Float32Array[]) =>
  Math.max(...a.map((x, s) => Math.max(...x.map((v, i) => Math.abs(v - b[s][i])))));

for (const [label, type, tol] of [
  ["F32", GGMLType.F32, 1e-4],
  ["Q8_0", GGMLType.Q8_0, -1],
] as const) {
  test(`merged ${label} model = base + adapter at run time`, async () => {
    const base = join(dir, `base-${label}.gguf`);
    const ad = join(dir, `ad-${label}.gguf`);
    const out = join(dir, `merged-${label}.gguf`);
    await writeTestModel(base, { ...spec, types: { weights: type } });
    await writeTestAdapter(ad, spec, {
      rank: 8,
      alpha: 16,
      stdB: 0.1,
      targets: ["attn_q", "attn_v", "attn_output", "ffn_up", "ffn_down", "output"],
    });
    const r = await mergeLora(base, ad, out, { scale: 0.75 });
    assert.equal(r.merged, 2 * 5 + 1);
    const m = await loadModel(base);
    const un = greedy(m, [{ adapter: await loadLoraAdapter(ad, m), scale: 0.75 }]);
    const mg = greedy(await loadModel(out), [], 8, un.toks);
    const plain = greedy(m, []);
    const e = maxAbs(un.logits, mg.logits);
    console.log(
      `${label}: merged vs unmerged max |dlogit| ${e.toExponential(2)} (adapter moves logits by ${maxAbs(un.logits.slice(0, 1), plain.logits.slice(0, 1)).toFixed(2)})`,
    );
    let bound: number = tol;
    if (tol < 0) {
      const f32 = join(dir, "base-F32.gguf"); // the same weights before rounding (written by the F32 case)
      const E = maxAbs(greedy(await loadModel(f32), [], 8, plain.toks).logits, plain.logits);
      bound = 2 * E;
      console.log(`  bound 2E: Q8_0 rounding of the base moves logits by E = ${E.toExponential(2)}`);
    }
    assert.ok(e <= bound, `${e} > ${bound}`);
    // Teacher-forced: a different argmax only at a near-tie (within the bound) of the unmerged run.
    mg.toks.forEach((t, i) => {
      if (t !== un.toks[i]) assert.ok(un.logits[i][un.toks[i]] - un.logits[i][t] <= bound, `step ${i}`);
    });
    if (label === "F32") assert.deepEqual(mg.toks, un.toks);
    if (label === "F32") {
      const MAIN = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));
      const cliOut = join(dir, "merged-cli.gguf");
      await promisify(execFile)(process.execPath, [
        MAIN,
        "lora",
        "merge",
        base,
        ad,
        cliOut,
        "--scale",
        "0.75",
      ]);
      assert.ok(readFileSync(cliOut).equals(readFileSync(out)));
    }
  });
}
