/**
 * Streamed loading (model/index.ts streamFromFile, used by loadLLM): from a source that reads only
 * asynchronously (as a Blob, OPFS file or URL does), every tensor is read exactly once, in file
 * order, at most one read ahead; the model answers exactly as one bound from the whole file in
 * memory; a missing tensor is reported before any tensor byte is read (no wasted download).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { ModelError } from "../../src/errors.js";
import { loadLLM, memorySource, parseGGUF, type ByteSource } from "../../src/index.js";
import { buildTestModel } from "../../src/model/factory/index.js";
import { loadFromFile } from "../../src/model/index.js";
import { createWasmKernelSet } from "../../src/kernels/wasm/wasm-kernel-set.js";
import type { TestModelSpec } from "../../src/model/factory/index.js";
import { GGMLType } from "../../src/gguf/types.js";

const SPEC: TestModelSpec = {
  arch: "llama",
  nEmbd: 128,
  nLayer: 3,
  nHead: 4,
  nHeadKv: 2,
  nFf: 256,
  nCtx: 128,
  nVocab: 500,
  seed: 11,
  types: { weights: GGMLType.Q8_0 },
};

/** Async-only source over bytes, logging every read and the most reads in flight at once. */
function loggedSource(bytes: Uint8Array) {
  const mem = memorySource(bytes, "logged");
  const reads: [number, number][] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const src: ByteSource = {
    name: "logged",
    size: bytes.length,
    async read(offset, length) {
      reads.push([offset, length]);
      maxInFlight = Math.max(maxInFlight, ++inFlight);
      await new Promise((r) => setTimeout(r, 1));
      inFlight--;
      return (await mem.read(offset, length)).slice();
    },
    async close() {},
  };
  return { src, reads, maxInFlight: () => maxInFlight };
}

test("each tensor is read once, in file order, one read ahead; greedy tokens equal the in-memory load", async () => {
  const bytes = buildTestModel(SPEC).toBytes();
  const file = parseGGUF(bytes);
  const { src, reads, maxInFlight } = loggedSource(bytes);
  const llm = await loadLLM(src, { threads: 1 });
  const data = reads.filter(([o]) => o >= file.dataOffset);
  assert.deepEqual(
    data,
    file.tensors.map((t) => [file.dataOffset + t.offset, t.nBytes]),
  );
  assert.ok(maxInFlight() <= 2, `at most one read ahead (${maxInFlight()} in flight)`);

  const ks = await createWasmKernelSet({ threads: 1 });
  const ref = loadFromFile(file, { kernels: ks });
  const ids = [1, 5, 9, 30, 7];
  const want = ref.forward(ids, ref.newCache(ids.length, "f32"))[0]!;
  const got = llm.model.forward(ids, llm.model.newCache(ids.length, "f32"))[0]!;
  assert.deepEqual(Array.from(got), Array.from(want), "same logits as the whole-file load");
  await ks.dispose();
  await llm.close();
});

test("a missing tensor is a ModelError before any tensor byte is read", async () => {
  const w = buildTestModel(SPEC);
  const tensors = (w as unknown as { tensors: { name: string }[] }).tensors;
  tensors.splice(
    tensors.findIndex((t) => t.name === "blk.2.ffn_down.weight"),
    1,
  );
  const bytes = w.toBytes();
  const dataOffset = parseGGUF(bytes).dataOffset;
  const { src, reads } = loggedSource(bytes);
  await assert.rejects(
    loadLLM(src, { threads: 1 }),
    (e: unknown) => e instanceof ModelError && /blk\.2\.ffn_down\.weight/.test((e as Error).message),
  );
  assert.deepEqual(
    reads.filter(([o]) => o >= dataOffset),
    [],
    "no tensor data was read",
  );
});
