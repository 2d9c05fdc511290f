// `--no-kv-rotate` in a real child process (`edgellm logits`), judged by llama.cpp: on a
// head_dim-64 llama with a quantized KV cache, our logits with the flag match llama.cpp's with its
// rotation switched off (LLAMA_ATTN_ROT_DISABLE=1), without the flag they match llama.cpp as it
// ships (rotation on), and the flagged logits are further from the rotated reference than the
// tolerance (so a flag that never reached the cache would fail). Bounds as in
// test/conformance/kv-quant.test.ts.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeTestModel } from "../../src/model/factory/index.js";
import { referenceRun, type RefKVType } from "../conformance/reference.js";
import { execCli } from "./helpers.js";

const PROMPT = [1, 17, 250, 3, 99, 42, 7, 300, 12, 5, 77, 123, 9, 200, 31, 64, 2, 8, 150, 47];
const N_VOCAB = 333;
let dir: string;
let path: string;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), "kv-rotate-"));
  path = join(dir, "m.gguf");
  // head_dim 64: K and V rotated in blocks of 64 when quantized (kv/hadamard.ts).
  await writeTestModel(path, {
    arch: "llama",
    nEmbd: 128,
    nLayer: 2,
    nHead: 2,
    nHeadKv: 1,
    nFf: 96,
    nCtx: 256,
    nVocab: N_VOCAB,
    weightStd: 0.15,
    seed: 11,
  });
});
after(() => rmSync(dir, { recursive: true, force: true }));

async function ours(kv: string, rotate: boolean): Promise<Float32Array> {
  const args = ["logits", "-m", path, "--tokens", PROMPT.join(","), "--kv", kv, "--top", "0", "--json"];
  const { stdout } = await execCli([...args, "--threads", "1", ...(rotate ? [] : ["--no-kv-rotate"])]);
  return Float32Array.from(JSON.parse(stdout).logits as number[]);
}

async function reference(kv: RefKVType, rotate: boolean): Promise<Float32Array> {
  // llama.cpp reads its switch when a context is created.
  if (rotate) delete process.env.LLAMA_ATTN_ROT_DISABLE;
  else process.env.LLAMA_ATTN_ROT_DISABLE = "1";
  try {
    return (await referenceRun(path, PROMPT, 1, N_VOCAB, { kv, flashAttention: true })).logits;
  } finally {
    delete process.env.LLAMA_ATTN_ROT_DISABLE;
  }
}

const maxDiff = (a: Float32Array, b: Float32Array) =>
  a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i])), 0);
const maxAbs = (a: Float32Array) => a.reduce((m, x) => Math.max(m, Math.abs(x)), 0);

for (const kv of ["q8_0", "q4_0"] as const) {
  test(`logits --kv ${kv} [--no-kv-rotate] agree with llama.cpp with its rotation off [on]`, async () => {
    const [rot, unrot] = [await ours(kv, true), await ours(kv, false)];
    const ref = kv.toUpperCase() as RefKVType;
    const [refRot, refUnrot] = [await reference(ref, true), await reference(ref, false)];
    assert.equal(rot.length, N_VOCAB);
    const scale = maxAbs(refRot);
    const tol = kv === "q4_0" ? 1e-2 * scale : 1e-3 * scale + 1e-4;
    const e = { rot: maxDiff(rot, refRot), unrot: maxDiff(unrot, refUnrot), cross: maxDiff(unrot, refRot) };
    console.log(`${kv}: max|logit| ${scale.toFixed(3)}, tol ${tol.toExponential(2)}, errors`, e);
    assert.ok(e.rot <= tol, `rotated vs llama.cpp: ${e.rot}`);
    assert.ok(e.unrot <= tol, `--no-kv-rotate vs llama.cpp with LLAMA_ATTN_ROT_DISABLE=1: ${e.unrot}`);
    assert.ok(
      e.cross > tol,
      `--no-kv-rotate is as close to the rotated reference (${e.cross}): the flag did nothing`,
    );
  });
}

test("--kv rejects an unknown cache type with a typed error", async () => {
  await assert.rejects(
    execCli(["logits", "-m", path, "--tokens", "1,2,3", "--kv", "q5_9"]),
    (e: { stderr?: string }) => /q5_9/.test(e.stderr ?? ""),
  );
});
