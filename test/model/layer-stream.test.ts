/**
 * Dense streaming (model/layer-stream.ts): a small random-weight llama whose layer matrices stay in
 * the file and are read into 1-3 layer slots as the forward pass reaches them must give the same
 * logits, bit for bit, and the same greedy tokens as the fully resident model (same repacked
 * layout, same kernels), for Q4_0, Q8_0 and Q4_K weights, at 1 and 2 threads, over a prefill
 * (every position) and decode steps. The stream's counters are checked against the file's tensor
 * sizes. Over-budget placements are typed errors before any allocation.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import {
  mkdtempSync,
  openSync,
  readFileSync,
  closeSync,
  rmSync,
  statSync,
  utimesSync,
  writeSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GGMLType } from "../../src/gguf/types.js";
import { openGGUF } from "../../src/gguf/reader.js";
import {
  createWasmKernelSet,
  wasmPlacementTarget,
  type WasmKernelSet,
} from "../../src/kernels/wasm/wasm-kernel-set.js";
import { writeTestModel, type TestModelSpec } from "../../src/model/factory/index.js";
import { loadModel, planModel, type LoadOptions, type Transformer } from "../../src/model/index.js";
import { ModelError } from "../../src/errors.js";
import { SMALL_SHAPE, assertSameRun, greedyRun, metricsAfterRequest } from "./helpers.js";
import { makeNodeLayerLoader, nodeLayerLoader } from "../../src/model/node-layer-loader.js";
import { loadLLM } from "../../src/engine/llm.js";

let dir: string;
const sets: WasmKernelSet[] = [];
const models: Transformer[] = [];
const N_LAYER = 5;
const TYPES = [GGMLType.Q4_0, GGMLType.Q8_0, GGMLType.Q4_K] as const;
const paths = new Map<GGMLType, string>();
const spec = (type: GGMLType): TestModelSpec => ({
  arch: "llama",
  ...SMALL_SHAPE,
  nLayer: N_LAYER,
  types: { weights: type, overrides: {} },
});

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "stream-"));
  for (const t of TYPES) {
    const p = join(dir, `llama-${t}.gguf`);
    await writeTestModel(p, spec(t));
    paths.set(t, p);
  }
});
after(async () => {
  for (const m of models) await m.openFile?.close();
  for (const ks of sets) await ks.dispose();
  rmSync(dir, { recursive: true, force: true });
});

async function load(type: GGMLType, opts: LoadOptions = {}, threads = 1): Promise<Transformer> {
  const ks = await createWasmKernelSet({ threads });
  sets.push(ks);
  const m = await loadModel(paths.get(type)!, { kernels: ks, ...opts });
  models.push(m);
  return m;
}

/** A 9-token prefill, then 6 greedy decode steps. */
const run = (m: Transformer) => greedyRun(m, 6);

/** File bytes of layer l's matrices (from the tensor table, not from the stream). */
async function layerBytes(type: GGMLType): Promise<number[]> {
  const f = await openGGUF(paths.get(type)!);
  try {
    const out = new Array<number>(N_LAYER).fill(0);
    for (const t of f.tensors) {
      const m = /^blk\.(\d+)\./.exec(t.name);
      if (m && t.dims.length >= 2) out[Number(m[1])]! += t.nBytes;
    }
    return out;
  } finally {
    await f.close();
  }
}

for (const type of TYPES) {
  test(`streamed layers (${GGMLType[type]}): logits bit-identical to resident, 1-3 slots, 1 and 2 threads, read here or ahead in a worker`, async () => {
    const resident = await load(type);
    assert.equal(resident.layerStream, undefined);
    const ref = run(resident);
    const perLayer = await layerBytes(type);
    for (const [slots, threads, worker] of [
      [1, 1, false],
      [2, 2, false],
      [3, 1, false],
      [3, 2, false],
      [1, 2, true],
      [2, 1, true],
    ] as const) {
      const m = await load(
        type,
        { weights: "stream", streamSlots: slots, ...(worker ? { layerLoader: nodeLayerLoader } : {}) },
        threads,
      );
      const st = m.layerStream!;
      assert.ok(st, "the model streams");
      assert.equal(st.stats().slots, slots);
      assertSameRun(run(m), ref, `${slots} slots, ${threads} threads`);
      // 7 forward calls; the pinned layers (all but one rotating slot) are read once
      const s = st.stats();
      const pinned = slots - 1;
      assert.equal(s.pinned, pinned);
      const calls = 7;
      assert.equal(s.loads, pinned + calls * (N_LAYER - pinned));
      assert.equal(s.hits + s.loads, calls * N_LAYER);
      const pinnedBytes = perLayer.slice(0, pinned).reduce((a, b) => a + b, 0);
      const ringBytes = perLayer.slice(pinned).reduce((a, b) => a + b, 0);
      assert.equal(s.bytesRead, pinnedBytes + calls * ringBytes);
      assert.ok(s.repackMs > 0);
      if (worker) assert.ok(s.aheadMs > 0, "the worker read and packed");
      else assert.equal(s.aheadMs, 0);
    }
    // as many slots as layers: each layer read once, then resident
    const all = await load(type, { weights: "stream" });
    const got = run(all);
    assert.deepEqual(got.tokens, ref.tokens);
    assert.equal(all.layerStream!.stats().loads, N_LAYER);
  });
}

/** Whether two runs' logits are bit-identical at every step. */
function sameBits(a: Uint32Array[], b: Uint32Array[]): boolean {
  return a.length === b.length && a.every((x, i) => Buffer.from(x.buffer).equals(Buffer.from(b[i]!.buffer)));
}

for (const type of TYPES) {
  test(`prepared-layout cache (${GGMLType[type]}): written on first use, then read instead of packing; bit-identical; rebuilt when the model changes`, async () => {
    const ref = run(await load(type));
    const cachePath = join(dir, `packed-${type}.bin`);
    const cached = {
      weights: "stream" as const,
      streamSlots: 2,
      layerLoader: makeNodeLayerLoader({ packedCache: cachePath }),
    };
    // 1st: packs and writes every rotating layer's image; 2nd: reads them from the cache file
    for (const pass of ["write", "read"]) {
      const got = run(await load(type, cached, 2));
      assert.deepEqual(got.tokens, ref.tokens, `${pass}: greedy tokens`);
      assert.ok(sameBits(got.logits, ref.logits), `${pass}: logits bit-identical`);
    }
    const size = statSync(cachePath).size;
    const slot = (await load(type, cached)).layerStream!.stats().slotBytes;
    assert.ok(size > (N_LAYER - 1) * slot, `cache ${size} bytes holds the ${N_LAYER} layers' images`);
    // the images are what the loader uses: corrupt the last layer's, the logits change
    const fd = openSync(cachePath, "r+");
    writeSync(fd, new Uint8Array(4096).fill(0x5a), 0, 4096, size - slot);
    closeSync(fd);
    assert.ok(!sameBits(run(await load(type, cached, 2)).logits, ref.logits), "the corrupted image is read");
    // the model file changed (mtime): the cache is rebuilt, and the results are right again
    const t = new Date(Date.now() + 5000);
    utimesSync(paths.get(type)!, t, t);
    const again = run(await load(type, cached, 2));
    assert.ok(sameBits(again.logits, ref.logits), "rebuilt cache: logits bit-identical");
  });
}

test("placement: weights auto streams a dense model only when it does not fit; refusals are typed, before allocation", async () => {
  const path = paths.get(GGMLType.Q4_0)!;
  const f = await openGGUF(path);
  try {
    const target = wasmPlacementTarget();
    const kv = { kvBytesPerLayer: 32 * 1024 };
    const resident = planModel(f, target, kv);
    assert.equal(resident.stream, undefined);
    const fits = planModel(f, target, { ...kv, weights: "auto", maxMemory: resident.placement.totalBytes });
    assert.equal(fits.stream, undefined, "auto keeps the layers resident when the model fits");
    const all = planModel(f, target, { ...kv, weights: "stream" });
    const slot = all.stream!.slotBytes;
    // the rest: head, embeddings, norms, KV, working room, and one slot of read-ahead buffer
    const rest = all.placement.totalBytes - N_LAYER * slot;
    assert.equal(all.stream!.slots, N_LAYER);
    assert.equal(all.placement.kvBytes, N_LAYER * kv.kvBytesPerLayer);
    const budget = rest + 2 * slot + 100;
    const tight = planModel(f, target, { ...kv, weights: "auto", maxMemory: budget });
    assert.equal(tight.stream?.slots, 2, "auto: streaming with the slots the budget leaves");
    assert.ok(tight.placement.totalBytes <= budget);
    assert.equal(tight.deferred.size, N_LAYER * 7, "q, k, v, o, gate, up, down of every layer");
    // below the rest + one slot: refused with a hint
    assert.throws(
      () => planModel(f, target, { ...kv, weights: "stream", maxMemory: rest + slot - 1 }),
      (e: unknown) => e instanceof ModelError && /one layer slot/.test(e.message) && !!e.context.hint,
    );
    assert.throws(
      () => planModel(f, target, { ...kv, weights: "resident", maxMemory: budget }),
      (e: unknown) => e instanceof ModelError && /--weights stream/.test(e.context.hint ?? ""),
    );
    assert.throws(
      // a bad value as the CLI or JSON could pass it
      () => planModel(f, target, { weights: "sometimes" as unknown as "auto" }),
      (e: unknown) => e instanceof Error && /weights must be one of/.test(e.message),
    );
  } finally {
    await f.close();
  }
  const blob = await openGGUF(new Blob([readFileSync(path)]));
  try {
    assert.throws(
      () => planModel(blob, wasmPlacementTarget(), { weights: "stream" }),
      (e: unknown) => e instanceof ModelError && /synchronous reads/.test(e.message),
    );
  } finally {
    await blob.close();
  }
});

test("/metrics exposes the layer stream's loads, bytes read and read/repack time", async () => {
  const m = await load(GGMLType.Q4_K, { weights: "stream", streamSlots: 2 });
  const value = await metricsAfterRequest(m);
  const s = m.layerStream!.stats();
  assert.ok(s.loads > 0);
  assert.equal(value("edgellm_layer_stream_loads_total"), s.loads);
  assert.equal(value("edgellm_layer_stream_read_bytes_total"), s.bytesRead);
  assert.ok(value("edgellm_layer_stream_read_seconds_total") >= 0);
  assert.ok(value("edgellm_layer_stream_repack_seconds_total") > 0);
  assert.equal(value("edgellm_layer_stream_slots"), 2);
});

test("loadLLM with weights stream: the engine's greedy tokens equal the resident model's, read by the worker", async () => {
  const path = paths.get(GGMLType.Q4_0)!;
  const opts = { threads: 2, contextSize: 64 };
  const resident = await loadLLM(path, opts);
  const streamed = await loadLLM(path, { ...opts, weights: "stream" });
  try {
    assert.equal(resident.model.layerStream, undefined);
    assert.ok(streamed.model.layerStream);
    const ask = { maxTokens: 6, temperature: 0, ignoreEos: true };
    const a = await resident.complete("hello world", ask);
    const b = await streamed.complete("hello world", ask);
    assert.deepEqual(b.choices[0]!.tokens, a.choices[0]!.tokens);
    const s = streamed.model.layerStream.stats();
    assert.ok(s.loads > 0 && s.aheadMs > 0, "layers read by the reader threads");
  } finally {
    await resident.close();
    await streamed.close();
  }
});
