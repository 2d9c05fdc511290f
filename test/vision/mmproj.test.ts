/**
 * mmproj metadata and binding: what the factory writes reads back as the config llama.cpp's
 * clip.cpp would derive, and files we cannot run fail with typed errors naming the key or tensor.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { buildTestMmproj } from "../../src/model/factory/mmproj.js";
import { parseGGUF } from "../../src/gguf/reader.js";
import { GGMLType } from "../../src/gguf/types.js";
import type { GGUFWriter } from "../../src/gguf/writer.js";
import { ModelError, UnsupportedProjectorError } from "../../src/errors.js";
import { RefKernelSet } from "../../src/kernels/ref/ref-kernel-set.js";
import { loadVisionModel, readVisionConfig } from "../../src/vision/index.js";
import { blocksToRun } from "../../src/vision/encoder.js";
import { bindVisionWeights } from "../../src/vision/weights.js";

function parse(w: GGUFWriter) {
  return parseGGUF(w.toBytes(), "test.gguf");
}

/** A writer whose metadata differs from the factory's in `patch` (keys set to undefined are dropped). */
function withMetadata(patch: Record<string, unknown>) {
  const file = parse(buildTestMmproj({ style: "llava" }));
  const md = new Map(file.metadata);
  for (const [k, v] of Object.entries(patch)) {
    if (v === undefined) md.delete(k);
    else md.set(k, v as never);
  }
  return md;
}

test("factory mmproj reads back as the llava config clip.cpp derives", () => {
  const file = parse(buildTestMmproj({ style: "llava", nEmbd: 96, nHead: 3, nLayer: 4, act: "gelu" }));
  const c = readVisionConfig(file.metadata, file.path);
  assert.equal(c.projector, "mlp");
  assert.equal(c.imageSize, 112);
  assert.equal(c.patchSize, 14);
  assert.equal(c.nEmbd, 96);
  assert.equal(c.headDim, 32);
  assert.equal(c.nLayer, 4);
  assert.equal(c.act, "gelu");
  assert.deepEqual(c.featureLayers, []);
  assert.equal(blocksToRun(c), 3, "LLaVA's feature layer -2: all blocks but the last");
  assert.ok(Math.abs(c.mean[0] - 0.48145466) < 1e-7 && Math.abs(c.std[2] - 0.27577711) < 1e-7);
  const quick = readVisionConfig(parse(buildTestMmproj({ style: "llava" })).metadata);
  assert.equal(quick.act, "gelu_quick", "neither use_gelu nor use_silu: CLIP's quick GELU");
});

test("explicit feature layers run up to the deepest one", () => {
  const md = withMetadata({ "clip.vision.feature_layer": new Int32Array([1, 2]) });
  const c = readVisionConfig(md);
  assert.deepEqual(c.featureLayers, [1, 2]);
  assert.equal(blocksToRun(c), 2);
  assert.throws(
    () => readVisionConfig(withMetadata({ "clip.vision.feature_layer": new Int32Array([9]) })),
    (e: unknown) => e instanceof ModelError && /out of range/.test(e.message),
  );
});

test("unsupported projector types are typed errors: known to llama.cpp, or unknown", () => {
  for (const [name, known] of [
    ["ldp", true],
    ["qwen2vl_merger", true],
    ["gemma3nv", true],
    ["my_projector", false],
  ] as const) {
    assert.throws(
      () => readVisionConfig(withMetadata({ "clip.projector_type": name })),
      (e: unknown) =>
        e instanceof UnsupportedProjectorError &&
        e.projector === name &&
        e.known === known &&
        e.context.field === "clip.projector_type",
      name,
    );
  }
  // gemma3 runs: all blocks, pooling 4 per side unless the file says otherwise.
  const g = readVisionConfig(withMetadata({ "clip.projector_type": "gemma3" }));
  assert.equal(g.projector, "gemma3");
  assert.equal(blocksToRun(g), g.nLayer);
  assert.equal(g.nMerge, 4);
  // Mixed audio+vision files name the vision projector under clip.vision.projector_type.
  const mixed = withMetadata({ "clip.projector_type": undefined, "clip.vision.projector_type": "mlp" });
  assert.equal(readVisionConfig(mixed).projector, "mlp");
});

test("a language model or an audio-only mmproj is refused with a hint", () => {
  assert.throws(
    () => readVisionConfig(withMetadata({ "clip.projector_type": undefined })),
    (e: unknown) =>
      e instanceof ModelError && /not an mmproj/.test(e.message) && /mmproj/.test(e.context.hint ?? ""),
  );
  assert.throws(
    () => readVisionConfig(withMetadata({ "clip.has_vision_encoder": false })),
    (e: unknown) => e instanceof ModelError && e.context.field === "clip.has_vision_encoder",
  );
});

test("LLaVA-1.6 tiling and Yi-VL's normed projector are typed errors, not wrong answers", () => {
  assert.throws(
    () => readVisionConfig(withMetadata({ "clip.vision.image_grid_pinpoints": new Int32Array([336, 672]) })),
    (e: unknown) =>
      e instanceof UnsupportedProjectorError && e.context.field === "clip.vision.image_grid_pinpoints",
  );
  const w = buildTestMmproj({ style: "llava" });
  w.addTensor("mm.3.weight", GGMLType.F32, [64, 64], new Uint8Array(64 * 64 * 4));
  const file = parse(w);
  assert.throws(
    () => loadVisionModel(file, new RefKernelSet()),
    (e: unknown) => e instanceof UnsupportedProjectorError && e.projector === "mlp_norm",
  );
});

test("legacy (swapped) FFN names bind to the same matrices as the right names", () => {
  const a = parse(buildTestMmproj({ style: "llava", legacyFfnNames: true }));
  const b = parse(buildTestMmproj({ style: "llava", legacyFfnNames: false }));
  const ca = readVisionConfig(a.metadata);
  const wa = bindVisionWeights(a, ca);
  const wb = bindVisionWeights(b, readVisionConfig(b.metadata));
  for (const [x, y] of [
    [wa.layers[0]!.up, wb.layers[0]!.up],
    [wa.layers[0]!.down, wb.layers[0]!.down],
  ]) {
    assert.equal(x!.w.rows, y!.w.rows);
    assert.equal(x!.w.cols, y!.w.cols);
  }
  assert.equal(wa.layers[0]!.up.w.cols, ca.nEmbd, "up reads n_embd");
  assert.equal(wa.layers[0]!.up.w.name, "v.blk.0.ffn_down.weight", "legacy files hold fc1 under ffn_down");
  assert.equal(wb.layers[0]!.up.w.name, "v.blk.0.ffn_up.weight");
});

test("mis-shaped and missing tensors name the tensor", () => {
  const md = parse(buildTestMmproj({ style: "llava", imageSize: 112 }));
  const c = { ...readVisionConfig(md.metadata), imageSize: 84 }; // position table is for 112
  assert.throws(
    () => bindVisionWeights(md, c),
    (e: unknown) => e instanceof ModelError && e.context.field === "v.position_embd.weight",
  );
  assert.throws(
    () => readVisionConfig(withMetadata({ "clip.vision.patch_size": 15 })),
    (e: unknown) => e instanceof ModelError && e.context.field === "clip.vision.image_size",
  );
});

test("trained tensors given to the factory are the file's tensors; a missing or mis-sized one is refused", () => {
  const spec = {
    style: "llava",
    imageSize: 16,
    patchSize: 8,
    nEmbd: 8,
    nHead: 2,
    nFf: 16,
    nLayer: 2,
    projDim: 4,
  } as const;
  const random = parse(buildTestMmproj(spec));
  // Values unlike the factory's random ones: tensor i filled with i + 0.5, then read back.
  const given = new Map<string, Float32Array>();
  random.tensors.forEach((t, i) => {
    const n = t.dims.reduce((a, b) => a * b, 1);
    given.set(t.name, new Float32Array(n).fill(i + 0.5));
  });
  const file = parse(buildTestMmproj({ ...spec, tensors: given, description: "trained" }));
  assert.equal(file.metadata.get("general.description"), "trained");
  assert.equal(file.tensors.length, given.size);
  for (const t of file.tensors) {
    const want = given.get(t.name)!;
    const got = new Float32Array(file.readTensorSync(t).slice().buffer);
    assert.deepEqual(got, want, t.name);
  }
  const missing = new Map(given);
  missing.delete("mm.2.bias");
  assert.throws(
    () => buildTestMmproj({ ...spec, tensors: missing }),
    (e: unknown) => e instanceof ModelError && /mm\.2\.bias/.test(e.message),
  );
  const short = new Map(given);
  short.set("v.class_embd", new Float32Array(3));
  assert.throws(
    () => buildTestMmproj({ ...spec, tensors: short }),
    (e: unknown) => e instanceof ModelError && /v\.class_embd/.test(e.message),
  );
});
