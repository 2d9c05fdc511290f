/**
 * Experts on demand (model/expert-cache.ts): a small random-weight qwen3moe with a skewed router
 * (hot and cold experts) run with its experts left in the file and an LRU cache of a few experts
 * must give the same logits, bit for bit, and the same greedy tokens as the fully resident model
 * (same repacked layout, same kernels). Cache counters are checked against an independent count
 * of the experts the resident model routes to. Over-budget placements are typed errors before any
 * allocation.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GGMLType, ggmlRowBytes } from "../../src/gguf/types.js";
import { openGGUF } from "../../src/gguf/reader.js";
import {
  createWasmKernelSet,
  wasmPlacementTarget,
  type WasmKernelSet,
} from "../../src/kernels/wasm/wasm-kernel-set.js";
import { writeTestModel, type TestModelSpec } from "../../src/model/factory/index.js";
import { loadModel, planModel, type Transformer } from "../../src/model/index.js";
import { expertSlice } from "../../src/model/weights.js";
import { ModelError } from "../../src/errors.js";
import { SMALL_SHAPE, assertSameRun, greedyRun, metricsAfterRequest } from "./helpers.js";

let dir: string;
let path: string;
const sets: WasmKernelSet[] = [];
const models: Transformer[] = [];
const N_LAYER = 3,
  N_EXPERT = 8,
  N_USED = 2,
  EMBD = 256,
  FF = 256;
const spec: TestModelSpec = {
  arch: "qwen3moe",
  ...SMALL_SHAPE,
  nEmbd: EMBD,
  nLayer: N_LAYER,
  moe: { nExpert: N_EXPERT, nExpertUsed: N_USED, nFfExp: FF, routerSkew: 6 },
  types: { weights: GGMLType.Q4_K, experts: GGMLType.Q4_K, overrides: {} },
};
// gate and up [EMBD -> FF], down [FF -> EMBD], all Q4_K: file bytes of one expert
const EXPERT_FILE_BYTES = 3 * FF * ggmlRowBytes(GGMLType.Q4_K, EMBD);

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "experts-"));
  path = join(dir, "moe.gguf");
  await writeTestModel(path, spec);
});
after(async () => {
  for (const m of models) await m.expertCache?.close();
  for (const ks of sets) await ks.dispose();
  rmSync(dir, { recursive: true, force: true });
});

async function load(opts: Parameters<typeof loadModel>[1] = {}, threads = 1): Promise<Transformer> {
  const ks = await createWasmKernelSet({ threads });
  sets.push(ks);
  const m = await loadModel(path, { kernels: ks, ...opts });
  models.push(m);
  return m;
}

/** A 9-token prefill, then 8 greedy decode steps. */
const run = (m: Transformer) => greedyRun(m, 8);

/** Expert uses per (layer, forward call) of the resident model, counted by wrapping its slices. */
function countUses(m: Transformer): { uses: number; distinct: Set<number>; perExpert: number[] } {
  const seen = { uses: 0, distinct: new Set<number>(), perExpert: new Array<number>(N_EXPERT).fill(0) };
  m.weights.layers.forEach((L, layer) => {
    const moe = L.moe!;
    moe.onDemand = {
      layer,
      cache: {
        get: (l, e) => {
          seen.uses++;
          seen.distinct.add(l * N_EXPERT + e);
          seen.perExpert[e]!++;
          return {
            gate: expertSlice(moe.gateExps, e),
            up: expertSlice(moe.upExps, e),
            down: expertSlice(moe.downExps, e),
          };
        },
      },
    };
  });
  return seen;
}

test("experts on demand: logits bit-identical and the same greedy tokens as resident, tiny and ample caches", async () => {
  const resident = await load();
  assert.equal(resident.expertCache, undefined);
  const seen = countUses(resident);
  const ref = run(resident);
  // the skewed router makes the first experts hot
  assert.ok(seen.perExpert[0]! > seen.perExpert[N_EXPERT - 1]!, `uses per expert ${seen.perExpert}`);

  const probe = await load({ experts: "on-demand" });
  const slot = probe.expertCache!.stats().slotBytes;
  assert.ok(slot >= EXPERT_FILE_BYTES, `slot ${slot} holds an expert's ${EXPERT_FILE_BYTES} bytes`);
  // 5 slots: in a shard memory created after the load, on the first miss (the products then run on
  // that memory's own kernel instances, on 2 threads)
  const cases: [number, number | undefined][] = [
    [N_USED, undefined],
    [5, 1],
    [N_LAYER * N_EXPERT, undefined],
  ];
  for (const [nSlots, slotShard] of cases) {
    const m = await load(
      {
        experts: "on-demand",
        expertCacheBytes: nSlots * slot,
        ...(slotShard === undefined ? {} : { expertSlotShard: slotShard }),
      },
      slotShard === undefined ? 1 : 2,
    );
    const shardsAtLoad = sets[sets.length - 1]!.sharding.count;
    assert.ok(m.expertCache);
    assert.equal(m.expertCache.stats().slots, nSlots);
    assertSameRun(run(m), ref, `${nSlots} slots`);
    if (slotShard !== undefined) {
      assert.equal(shardsAtLoad, 1);
      assert.equal(sets[sets.length - 1]!.sharding.count, 2, "the slots' shard was made after the load");
    }
    const s = m.expertCache.stats();
    assert.equal(s.hits + s.misses, seen.uses, `${nSlots} slots: every expert use is a hit or a miss`);
    assert.ok(s.misses >= seen.distinct.size, "each expert used is read at least once");
    assert.equal(s.bytesRead, s.misses * EXPERT_FILE_BYTES);
    assert.equal(s.evictions, Math.max(0, s.misses - nSlots));
    if (nSlots === N_LAYER * N_EXPERT) {
      assert.equal(s.misses, seen.distinct.size, "a cache that holds every expert reads each once");
      assert.equal(s.evictions, 0);
    }
  }
});

test("placement: experts auto go on demand only when the model does not fit; refusals are typed, before allocation", async () => {
  const f = await openGGUF(path);
  try {
    const target = wasmPlacementTarget();
    const resident = planModel(f, target, {});
    assert.equal(resident.deferred.size, 0);
    const auto = planModel(f, target, { experts: "auto", maxMemory: resident.placement.totalBytes });
    assert.equal(auto.deferred.size, 0, "auto keeps experts resident when the model fits");
    const od = planModel(f, target, { experts: "on-demand" });
    assert.equal(od.deferred.size, 3 * N_LAYER);
    const rest = od.placement.totalBytes - od.cacheBytes;
    const budget = resident.placement.totalBytes - 1;
    const tight = planModel(f, target, { experts: "auto", maxMemory: budget });
    assert.equal(tight.deferred.size, 3 * N_LAYER, "auto: on demand when resident does not fit");
    assert.equal(tight.cacheBytes, budget - rest);
    assert.ok(tight.placement.totalBytes <= budget);
    // Below the other weights + KV + working room + one token's experts: refused, with a hint.
    assert.throws(
      () => planModel(f, target, { experts: "on-demand", maxMemory: rest }),
      (e: unknown) => e instanceof ModelError && /expert cache at least/.test(e.message) && !!e.context.hint,
    );
    assert.throws(
      () => planModel(f, target, { experts: "resident", maxMemory: budget }),
      (e: unknown) => e instanceof ModelError && /--experts on-demand/.test(e.context.hint ?? ""),
    );
  } finally {
    await f.close();
  }
  // A source that reads only asynchronously (a Blob, as a browser's): refused at planning.
  const blob = await openGGUF(new Blob([readFileSync(path)]));
  try {
    assert.throws(
      () => planModel(blob, wasmPlacementTarget(), { experts: "on-demand" }),
      (e: unknown) => e instanceof ModelError && /synchronous reads/.test(e.message),
    );
  } finally {
    await blob.close();
  }
});

test("/metrics exposes the expert cache's hits, misses and bytes read", async () => {
  const m = await load({ experts: "on-demand" });
  const value = await metricsAfterRequest(m);
  const s = m.expertCache!.stats();
  assert.ok(s.misses > 0 && s.hits + s.misses > 0);
  assert.equal(value("edgellm_expert_cache_hits_total"), s.hits);
  assert.equal(value("edgellm_expert_cache_misses_total"), s.misses);
  assert.equal(value("edgellm_expert_read_bytes_total"), s.bytesRead);
});
