/**
 * Test-model factory: a random-weight GGUF for an architecture and shape, used by conformance
 * tests (against llama.cpp) and benchmarks. Same spec + seed -> byte-identical file.
 *
 *   const w = buildTestModel({ arch: "llama", nEmbd: 64, nLayer: 2, nHead: 4, nFf: 128 });
 *   await writeTestModel("/tmp/m.gguf", spec);
 *
 * Tensor bytes are generated lazily while the writer streams, one tensor in memory at a time.
 */
import { ModelError } from "../../errors.js";
import { GGMLType, ggmlTypeName, ggmlTypeTraits } from "../../gguf/types.js";
import { GGUFValueType, typed } from "../../gguf/value.js";
import { GGUFWriter } from "../../gguf/writer.js";
import { factoryArch } from "./archs/registry.js";
import type { TensorPlan } from "./archs/plan.js";
import { Rng, fnv1a32 } from "../../sampling/rng.js";
import { RANDOM_BLOCK_TYPES, randomBlocks } from "./random-blocks.js";
import { resolveSpec, type ResolvedSpec, type TestModelSpec } from "./spec.js";
import { encodeTensor } from "./tensor-data.js";
import { defaultVocab, vocabSize } from "./vocab.js";

export type { TestModelSpec, ResolvedSpec, TensorTypePolicy, MoESpec } from "./spec.js";
export { defaultVocab, TokenType } from "./vocab.js";
export { FACTORY_ARCHS } from "./archs/registry.js";

/** Resolve defaults (vocab, sizes) without building anything. */
export function resolveTestModelSpec(spec: TestModelSpec): ResolvedSpec {
  const vocab = spec.vocab ?? defaultVocab(spec.nVocab);
  const n = vocabSize(vocab);
  if (spec.nVocab !== undefined && spec.nVocab !== n) {
    throw new ModelError(`nVocab ${spec.nVocab} differs from the vocab's ${n} tokens`, { field: "nVocab" });
  }
  const s = resolveSpec(spec, vocab, n);
  for (const [k, v] of Object.entries({
    nEmbd: s.nEmbd,
    nLayer: s.nLayer,
    nHead: s.nHead,
    nHeadKv: s.nHeadKv,
    nFf: s.nFf,
    headDim: s.headDim,
  })) {
    if (!Number.isInteger(v) || v <= 0)
      throw new ModelError(`${k} must be a positive integer, got ${v}`, { field: k });
  }
  if (s.nHead % s.nHeadKv !== 0) {
    throw new ModelError(`nHead ${s.nHead} is not a multiple of nHeadKv ${s.nHeadKv}`, { field: "nHeadKv" });
  }
  return s;
}

/** Type of one planned tensor under the spec's policy. */
export function tensorTypeFor(s: ResolvedSpec, t: TensorPlan): GGMLType {
  const o = s.types.overrides[t.name];
  if (o !== undefined) return o;
  switch (t.role) {
    case "norm":
    case "bias":
    case "router":
      return GGMLType.F32;
    case "embd":
      return s.types.tokenEmbd;
    case "output":
      return s.types.output;
    case "weight":
      return s.types.weights;
    case "experts":
      return s.types.experts;
  }
}

/** Deterministic f32 values of one tensor: its own PRNG stream, independent of order and type. */
export function tensorValues(s: ResolvedSpec, t: TensorPlan): Float32Array {
  const n = t.dims.reduce((a, b) => a * b, 1);
  const rng = Rng.stream(s.seed, fnv1a32(t.name));
  const out = new Float32Array(n);
  if (t.role === "norm") return rng.fillNormal(out, 1, s.normStd);
  rng.fillNormal(out, 0, s.weightStd);
  const skew = s.moe?.routerSkew ?? 0;
  if (t.role === "router" && skew > 0) {
    // Row e (expert e's router logit) scaled by 1 + skew / (1 + e): low-numbered experts get
    // wider logits, so they win the top-k more often (hot experts, as in trained models).
    const cols = t.dims[0]!;
    for (let e = 0; e * cols < n; e++) {
      const k = 1 + skew / (1 + e);
      for (let c = 0; c < cols; c++) out[e * cols + c]! *= k;
    }
  }
  return out;
}

export function buildTestModel(spec: TestModelSpec): GGUFWriter {
  const s = resolveTestModelSpec(spec);
  const arch = factoryArch(s.arch);
  const w = new GGUFWriter();
  const md: Record<string, unknown> = {
    "general.architecture": s.arch,
    "general.name": s.name,
    ...arch.hparams(s),
    ...s.vocab,
    ...s.metadata,
  };
  // general.* first, as llama.cpp's converters write it; spec.metadata may override any key.
  for (const [k, v] of Object.entries(md)) w.set(k, v as Parameters<GGUFWriter["set"]>[1]);
  if (!w.has("general.quantization_version"))
    w.set("general.quantization_version", typed(GGUFValueType.UINT32, 2));

  for (const t of arch.tensors(s)) {
    const type = tensorTypeFor(s, t);
    const bs = ggmlTypeTraits(type).blockSize;
    if (t.dims[0]! % bs !== 0) {
      throw new ModelError(
        `tensor '${t.name}' row length ${t.dims[0]} is not a multiple of the ${ggmlTypeName(type)} block size ${bs}`,
        { field: t.name, hint: "pick shapes divisible by the block size or override this tensor's type" },
      );
    }
    const random = s.randomBlocks && t.role !== "norm" && RANDOM_BLOCK_TYPES.has(type);
    w.addTensor(t.name, type, t.dims, () =>
      random
        ? randomBlocks(
            type,
            t.dims.reduce((a, b) => a * b, 1),
            Rng.stream(s.seed, fnv1a32(t.name)),
            s.weightStd,
          )
        : encodeTensor(type, tensorValues(s, t), t.dims[0]!),
    );
  }
  return w;
}

export async function writeTestModel(path: string, spec: TestModelSpec): Promise<void> {
  await buildTestModel(spec).write(path);
}
