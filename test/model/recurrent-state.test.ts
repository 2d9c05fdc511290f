/**
 * The per-sequence recurrent state (kv/recurrent.ts) of a hybrid model (lfm2 short convolutions):
 * batched sequences keep separate states, chunked prefill equals one-shot prefill, truncation
 * follows the store's rules (only back to 0), prefix sharing is refused, and the state's size does
 * not depend on the sequence length. Plain-TS path (no llama.cpp).
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeTestModel } from "../../src/model/factory/index.js";
import { loadModel } from "../../src/model/index.js";
import { forwardBatch, layerKinds, recurrentShape, type Transformer } from "../../src/model/forward.js";
import { RecurrentStore } from "../../src/kv/recurrent.js";

let dir: string;
let model: Transformer;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), "recurrent-"));
  const path = join(dir, "lfm2.gguf");
  await writeTestModel(path, {
    arch: "lfm2",
    nEmbd: 32,
    nLayer: 3,
    nHead: 4,
    nHeadKv: 2,
    nFf: 48,
    nVocab: 300,
    weightStd: 0.15,
    shortConv: { width: 3, attentionLayers: [1] },
  });
  model = await loadModel(path);
});
after(() => rmSync(dir, { recursive: true, force: true }));

const A = [1, 5, 9, 13, 17, 21, 25];
const B = [2, 4, 8, 16, 32];
const close = (x: Float32Array, y: Float32Array) => {
  let e = 0;
  for (let i = 0; i < x.length; i++) e = Math.max(e, Math.abs(x[i] - y[i]));
  return e;
};

test("layer kinds: conv, attention, conv", () => {
  assert.deepEqual(
    layerKinds(model.config).map((l) => l.kind),
    ["recurrent", "attention", "recurrent"],
  );
});

test("two sequences in one batch give the same logits as each alone (separate states)", () => {
  const ca = model.newCache(32);
  const cb = model.newCache(32);
  const [[la], [lb]] = forwardBatch(model, [
    { tokens: A, cache: ca, outputs: [A.length - 1] },
    { tokens: B, cache: cb, outputs: [B.length - 1] },
  ]);
  assert.ok(close(la, model.forward(A, model.newCache(32))[0]) < 1e-5);
  assert.ok(close(lb, model.forward(B, model.newCache(32))[0]) < 1e-5);
});

test("chunked prefill (3 + 4 tokens) equals one-shot prefill", () => {
  const c = model.newCache(32);
  model.forward(A.slice(0, 3), c);
  const chunked = model.forward(A.slice(3), c)[0];
  assert.ok(close(chunked, model.forward(A, model.newCache(32))[0]) < 1e-5);
});

test("truncate: only back to 0 (a reset), which reproduces the first run", () => {
  const c = model.newCache(32);
  const first = model.forward(A, c)[0].slice();
  assert.throws(() => c.truncate(3), /recurrent layers/);
  c.truncate(0);
  assert.ok(close(first, model.forward(A, c)[0]) < 1e-6);
});

test("state bytes do not depend on the sequence length", () => {
  const shape = recurrentShape(model.config)!;
  const s = new RecurrentStore(shape);
  assert.equal(s.bytes(), 2 * (shape.convRows * shape.channels * 4));
});
