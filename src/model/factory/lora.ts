/**
 * Test LoRA adapters for factory models: a GGUF in llama.cpp's adapter format (see model/lora.ts)
 * with random A/B of the real shapes of the base spec's matrices. Same base spec + adapter spec ->
 * byte-identical file.
 *
 *   await writeTestAdapter("/tmp/a.gguf", baseSpec, { rank: 8, alpha: 16, type: GGMLType.F16 });
 *
 * A: dims [cols, rank] (ne[0] = the base matrix's input dim), B: dims [rank, rows].
 */
import { ModelError } from "../../errors.js";
import { GGMLType, ggmlTypeName, ggmlTypeTraits } from "../../gguf/types.js";
import { GGUFValueType, typed } from "../../gguf/value.js";
import { GGUFWriter } from "../../gguf/writer.js";
import { factoryArch } from "./archs/registry.js";
import { resolveTestModelSpec, type TestModelSpec } from "./index.js";
import { Rng, fnv1a32 } from "../../sampling/rng.js";
import { encodeTensor } from "./tensor-data.js";

/** Matrix kinds by the middle of their GGUF name (`blk.N.<kind>.weight`), plus "output". */
export const LORA_TARGET_KINDS = [
  "attn_q",
  "attn_k",
  "attn_v",
  "attn_qkv",
  "attn_output",
  "ffn_gate",
  "ffn_up",
  "ffn_down",
  "output",
] as const;

export interface TestAdapterSpec {
  rank: number;
  /** adapter.lora.alpha; default = rank (effective scale = user scale). `null`: key left out. */
  alpha?: number | null;
  /** Type of A and B (default F32). Q8_0 needs the rank and input dims multiples of 32. */
  type?: GGMLType;
  /** Kinds to adapt (default every kind the base has, except output). */
  targets?: readonly string[];
  /** Only these layers (default all). */
  layers?: readonly number[];
  /** Std-dev of A and B entries (default 0.1 and 0.05). */
  stdA?: number;
  stdB?: number;
  seed?: number;
  /** general.architecture override (tests of the mismatch error). */
  arch?: string;
}

/** Kind of a base tensor name ("attn_q" for blk.3.attn_q.weight, "output" for output.weight). */
function kindOf(name: string): { kind: string; layer: number } | undefined {
  if (name === "output.weight") return { kind: "output", layer: -1 };
  const m = /^blk\.(\d+)\.([a-z_]+)\.weight$/.exec(name);
  return m ? { kind: m[2], layer: Number(m[1]) } : undefined;
}

export function buildTestAdapter(base: TestModelSpec, a: TestAdapterSpec): GGUFWriter {
  const s = resolveTestModelSpec(base);
  const type = a.type ?? GGMLType.F32;
  const targets = new Set(a.targets ?? LORA_TARGET_KINDS.filter((k) => k !== "output"));
  const seed = a.seed ?? 7;
  const w = new GGUFWriter();
  w.set("general.architecture", a.arch ?? s.arch);
  w.set("general.type", "adapter");
  w.set("general.name", `${s.name}-lora-r${a.rank}`);
  w.set("adapter.type", "lora");
  if (a.alpha !== null) w.set("adapter.lora.alpha", typed(GGUFValueType.FLOAT32, a.alpha ?? a.rank));
  let n = 0;
  for (const t of factoryArch(s.arch).tensors(s)) {
    const k = kindOf(t.name);
    if (!k || !targets.has(k.kind) || t.dims.length !== 2) continue;
    if (a.layers && k.layer >= 0 && !a.layers.includes(k.layer)) continue;
    const [cols, rows] = t.dims as [number, number];
    const bs = ggmlTypeTraits(type).blockSize;
    if (cols % bs !== 0 || a.rank % bs !== 0)
      throw new ModelError(
        `${t.name}: input dim ${cols} and rank ${a.rank} must be multiples of the ${ggmlTypeName(type)} block size ${bs}`,
        { field: t.name },
      );
    const gen = (suffix: string, len: number, rowLen: number, std: number) => () => {
      const v = Rng.stream(seed, fnv1a32(`${t.name}.${suffix}`)).fillNormal(new Float32Array(len), 0, std);
      return encodeTensor(type, v, rowLen);
    };
    w.addTensor(`${t.name}.lora_a`, type, [cols, a.rank], gen("lora_a", cols * a.rank, cols, a.stdA ?? 0.1));
    w.addTensor(
      `${t.name}.lora_b`,
      type,
      [a.rank, rows],
      gen("lora_b", a.rank * rows, a.rank, a.stdB ?? 0.05),
    );
    n++;
  }
  if (n === 0) throw new ModelError("no base tensor matches the adapter targets", { field: "targets" });
  return w;
}

export async function writeTestAdapter(path: string, base: TestModelSpec, a: TestAdapterSpec): Promise<void> {
  await buildTestAdapter(base, a).write(path);
}
