/**
 * LoRA adapters over a (quantized) base, in llama.cpp's GGUF adapter format, applied without
 * merging: y = W x + scale * B (A x), the base matrices untouched and shared by every adapter.
 *
 * File (llama.cpp src/llama-adapter.cpp is the reference for what is accepted):
 *   general.type = "adapter", adapter.type = "lora", general.architecture = the base's,
 *   adapter.lora.alpha (f32), and per target matrix W (`blk.3.attn_q.weight`):
 *     `<W>.lora_a`  dims [W.cols, rank]   (ne[0] = the input dim: A x is a product like W's)
 *     `<W>.lora_b`  dims [rank, W.rows]
 *   any type our products take (F32, F16, Q8_0 in practice). `*_norm.weight` tensors are skipped,
 *   as llama.cpp does. Effective scale per tensor = userScale * alpha / rank (userScale when
 *   alpha = 0: llama.cpp's get_scale), rank = B's ne[0].
 *
 * Targets: attention q/k/v/qkv/output and dense FFN gate/up/down of every layer, and output.weight.
 * Others (token_embd, MoE experts, MLA) are a typed error naming the tensor, not silently ignored.
 *
 * In the forward pass (forward.ts), rows are grouped by their segment's adapter list; each group
 * gets its own A/B products after the base product of the same weight, so sequences with different
 * adapters (or none) share one batched base product.
 */
import { InputError, ModelError } from "../errors.js";
import type { GGUFFile } from "../gguf/reader.js";
import { optNumber, optString } from "../gguf/getters.js";
import { GGMLType, ggmlTypeName } from "../gguf/types.js";
import { fp16ToFp32, fp32ToFp16 } from "../quant/f16.js";
import type { ModelConfig } from "./arch/config.js";
import type { ModelWeights } from "./bind.js";
import type { BlockOps } from "./blocks/ops.js";
import { makeWeight, prepareInto, type Weight } from "./weights.js";
import type { KernelSet, LowRankDelta, MatmulItem } from "../kernels/kernel-set.js";

/** One adapted matrix: A [rank][cols] and B [rows][rank] as Weights (products like the base's). */
export interface LoraTensor {
  a: Weight;
  b: Weight;
  rank: number;
  /** B's fp16 values are stored times 2^bShift (liftF16Subnormals); its products use bScale. */
  bShift?: number;
}

let serials = 0;

export class LoraAdapter {
  /** Unique per loaded adapter (a file reloaded under the same id gets another): prefix-cache salt. */
  readonly serial = ++serials;

  constructor(
    /** Caller's name for it (server/CLI id); default the file path. */
    readonly id: string,
    readonly path: string,
    readonly arch: string,
    readonly alpha: number,
    /** Base tensor name -> A/B. */
    readonly tensors: ReadonlyMap<string, LoraTensor>,
    /** The KernelSet every A and B was prepared into (the base's), if all were. */
    readonly kernels?: KernelSet,
  ) {}

  /** Bytes of A and B over all tensors (memory accounting; in the KernelSet when moved there). */
  get bytes(): number {
    let n = 0;
    for (const t of this.tensors.values())
      for (const w of [t.a, t.b]) n += w.kernel ? w.kernel.pw.bytes : w.data.length;
    return n;
  }

  /** llama.cpp's get_scale: userScale * alpha / rank, or userScale when alpha is 0. */
  scaleFor(t: LoraTensor, userScale: number): number {
    return this.alpha ? Math.fround((userScale * this.alpha) / t.rank) : userScale;
  }

  /** The scale for products with t.b as stored: scaleFor * 2^-bShift (liftF16Subnormals). */
  bScale(t: LoraTensor, userScale: number): number {
    const s = this.scaleFor(t, userScale);
    return t.bShift ? s * 2 ** -t.bShift : s;
  }
}

/** An adapter with the scale one request uses it at. */
export interface LoraRef {
  adapter: LoraAdapter;
  scale: number;
}

/** Matrices an adapter may target, by GGUF name. */
export function loraTargets(w: ModelWeights): Map<string, Weight> {
  const m = new Map<string, Weight>();
  const put = (x: Weight | undefined) => {
    if (x) m.set(x.name, x);
  };
  // Tied output (output = token_embd) is not a target: llama.cpp has no output.weight there.
  if (w.output !== w.tokenEmbd) put(w.output);
  for (const L of w.layers) {
    for (const x of [L.attn?.wq, L.attn?.wk, L.attn?.wv, L.attn?.wqkv, L.attn?.wo]) put(x);
    for (const x of [L.ffn?.gate, L.ffn?.up, L.ffn?.down]) put(x);
  }
  return m;
}

function die(file: GGUFFile, msg: string, field: string, hint?: string): never {
  throw new ModelError(msg, { file: file.path, field, hint });
}

/**
 * Read and check an adapter against a loaded base (architecture, tensor names, shapes). A/B bytes
 * are read now and kept in their file type.
 */
export function readLoraAdapter(
  file: GGUFFile,
  base: { config: ModelConfig; weights: ModelWeights; kernels?: KernelSet },
  id = file.path,
): LoraAdapter {
  const md = file.metadata;
  const str = (k: string) => {
    const v = md.get(k);
    if (v !== undefined && typeof v !== "string") die(file, `'${k}' must be a string`, k);
    return optString(md, k);
  };
  const gtype = str("general.type");
  if (gtype !== "adapter")
    die(
      file,
      `not an adapter: general.type is ${gtype === undefined ? "missing" : `'${gtype}'`}, expected 'adapter'`,
      "general.type",
      "pass a LoRA adapter GGUF, not a model",
    );
  const atype = str("adapter.type");
  if (atype !== "lora")
    die(
      file,
      `adapter.type is ${atype === undefined ? "missing" : `'${atype}'`}, expected 'lora'`,
      "adapter.type",
    );
  const arch = str("general.architecture");
  if (arch !== base.config.arch)
    die(
      file,
      `adapter architecture '${arch ?? "(missing)"}' does not match the base's '${base.config.arch}'`,
      "general.architecture",
      "the adapter was trained for another model",
    );
  if (!md.has("adapter.lora.alpha"))
    die(
      file,
      "missing 'adapter.lora.alpha'",
      "adapter.lora.alpha",
      "convert_lora_to_gguf.py writes it from the adapter config's lora_alpha",
    );
  const alphaRaw = md.get("adapter.lora.alpha");
  if (typeof alphaRaw !== "number" || !Number.isFinite(alphaRaw))
    die(file, `'adapter.lora.alpha' must be a finite number, got ${String(alphaRaw)}`, "adapter.lora.alpha");
  const alpha = optNumber(md, "adapter.lora.alpha")!;
  if (md.has("adapter.alora_invocation_tokens"))
    die(file, "activated LoRA (alora) adapters are not supported", "adapter.alora_invocation_tokens");

  const pairs = new Map<string, { a?: (typeof file.tensors)[number]; b?: (typeof file.tensors)[number] }>();
  for (const t of file.tensors) {
    let key: string;
    let which: "a" | "b";
    if (t.name.endsWith(".lora_a")) [key, which] = [t.name.slice(0, -7), "a"];
    else if (t.name.endsWith(".lora_b")) [key, which] = [t.name.slice(0, -7), "b"];
    else if (t.name.endsWith("_norm.weight"))
      continue; // llama.cpp skips norm deltas too
    else die(file, `tensor '${t.name}' is neither <name>.lora_a nor <name>.lora_b`, t.name);
    const p = pairs.get(key) ?? {};
    p[which] = t;
    pairs.set(key, p);
  }
  if (pairs.size === 0) die(file, "adapter has no lora_a/lora_b tensors", "tensors");

  const targets = loraTargets(base.weights);
  const tensors = new Map<string, LoraTensor>();
  let allInKernels = base.kernels !== undefined;
  for (const [name, p] of pairs) {
    if (!p.a || !p.b)
      die(
        file,
        `tensor pair for '${name}' lacks its ${p.a ? "lora_b" : "lora_a"}`,
        `${name}.${p.a ? "lora_b" : "lora_a"}`,
      );
    const w = targets.get(name);
    if (!w) {
      const hint =
        file.tensors.length && base.weights.layers.length
          ? "targets: attention q/k/v/qkv/output, dense FFN gate/up/down, output.weight"
          : undefined;
      die(
        file,
        `adapter tensor '${name}' has no matching base matrix we can adapt (wrong base model, or an unsupported target such as token_embd, MoE experts or MLA)`,
        name,
        hint,
      );
    }
    const [a, b] = [p.a, p.b];
    if (a.dims.length !== 2 || b.dims.length !== 2)
      die(file, `'${name}' lora tensors must be 2-D, got [${a.dims}] and [${b.dims}]`, name);
    if (a.dims[0] !== w.cols || b.dims[1] !== w.rows)
      die(
        file,
        `'${name}' lora_a [${a.dims}] / lora_b [${b.dims}] do not fit the base matrix [${w.cols}, ${w.rows}] (expected lora_a [${w.cols}, r], lora_b [r, ${w.rows}])`,
        name,
        "wrong base model?",
      );
    if (a.dims[1] !== b.dims[0])
      die(
        file,
        `'${name}' rank differs: lora_a [${a.dims}] vs lora_b [${b.dims}] (lora_a must be stored transposed)`,
        name,
      );
    const rank = b.dims[0]!;
    for (const t of [a, b]) {
      if (t.type === undefined) die(file, `'${t.name}' has an unknown type`, t.name);
    }
    const wa = makeWeight(a.name, a.type, a.dims, file.readTensorSync(a));
    let bBytes = file.readTensorSync(b);
    let bShift = 0;
    if (base.kernels && b.type === GGMLType.F16)
      ({ bytes: bBytes, shift: bShift } = liftF16Subnormals(bBytes));
    const wb = makeWeight(b.name, b.type, b.dims, bBytes);
    // With a KernelSet, A and B run there like the base matrices (types it lacks stay in TS).
    if (base.kernels) for (const x of [wa, wb]) allInKernels = prepareInto(x, base.kernels) && allInKernels;
    tensors.set(name, { a: wa, b: wb, rank, bShift });
  }
  return new LoraAdapter(id, file.path, arch!, alpha, tensors, allInKernels ? base.kernels : undefined);
}

/**
 * An F16 tensor's bytes with every value times 2^K, K <= 10 the largest that keeps every value a
 * finite fp16 (so the scaling is exact), when it has fp16 subnormals (else K = 0, the bytes as
 * given). The kernels widen fp16 to f32 with one multiply whose input is an f32 subnormal for
 * an fp16 subnormal, and x86 takes a microcode assist for that (~45 ns each: the 850M test
 * adapter's ~260 subnormals per layer in B cost ~12 us per layer and token, and a trained B,
 * which starts at zero, can be mostly subnormal). Used for LoRA B: its products then take the
 * scale times 2^-K (bScale), and since the B products' terms and partial sums are multiples of
 * 2^-71 (fp16 values times fp16-rounded A x) or zero, never f32 subnormals, every one of them is
 * scaled by exactly 2^K: the bits do not change (for scales of at least 2^-116 in magnitude).
 */
export function liftF16Subnormals(bytes: Uint8Array): { bytes: Uint8Array; shift: number } {
  const n = bytes.length >> 1;
  let maxExp = 0;
  let sub = false;
  for (let i = 0; i < n; i++) {
    const h = bytes[2 * i]! | (bytes[2 * i + 1]! << 8);
    const e = (h >> 10) & 31;
    if (e === 31) return { bytes, shift: 0 };
    if (e > maxExp) maxExp = e;
    else if (e === 0 && (h & 0x3ff) !== 0) sub = true;
  }
  const k = Math.min(10, 30 - maxExp);
  if (!sub || k <= 0) return { bytes, shift: 0 };
  const out = new Uint8Array(bytes.length);
  const f = 2 ** k;
  for (let i = 0; i < n; i++) {
    const h = bytes[2 * i]! | (bytes[2 * i + 1]! << 8);
    const e = (h >> 10) & 31;
    // A normal value: the exponent field grows by k; a subnormal (or zero): through f32, exact.
    const g = e !== 0 ? h + (k << 10) : fp32ToFp16(fp16ToFp32(h) * f);
    out[2 * i] = g & 255;
    out[2 * i + 1] = g >> 8;
  }
  return { bytes: out, shift: k };
}

/** Rows of one forward batch that share an adapter list. */
export interface LoraGroup {
  refs: readonly LoraRef[];
  /** Batch row indices, ascending. */
  rows: number[];
}

/** A key for an adapter list (same adapters at the same scales share products). */
export function loraKey(refs: readonly LoraRef[] | undefined): string {
  if (!refs || refs.length === 0) return "";
  return refs.map((r) => `${r.adapter.serial}:${r.adapter.id}\u0000${r.scale}`).join("\u0001");
}

/** Check a request's refs (finite scales, no adapter twice). */
export function checkLoraRefs(refs: readonly LoraRef[]): void {
  const seen = new Set<LoraAdapter>();
  for (const r of refs) {
    if (!(r.adapter instanceof LoraAdapter)) throw new InputError("lora entry without an adapter");
    if (typeof r.scale !== "number" || !Number.isFinite(r.scale))
      throw new InputError(`lora scale for '${r.adapter.id}' must be a finite number, got ${r.scale}`);
    if (seen.has(r.adapter)) throw new InputError(`lora adapter '${r.adapter.id}' given twice`);
    seen.add(r.adapter);
  }
}

/**
 * out[row] += scale * B (A x[row]) for each group's rows and each of its adapters that targets
 * `w` (in the adapters' order, each added after the base product as ggml does: res = res + s*BAx).
 * x: [nRows][w.cols], out: [nRows][w.rows]. `tmp` supplies scratch buffers.
 */
export function applyLora(
  ops: BlockOps,
  w: Weight,
  x: Float32Array,
  out: Float32Array,
  groups: readonly LoraGroup[],
  tmp: (name: string, n: number) => Float32Array,
): void {
  const C = w.cols;
  const R = w.rows;
  for (const g of groups) {
    const m = g.rows.length;
    if (m === 0) continue;
    let xg: Float32Array | undefined;
    for (const ref of g.refs) {
      const t = ref.adapter.tensors.get(w.name);
      if (!t) continue;
      if (!xg) {
        // Contiguous rows are used in place; others gathered.
        const r0 = g.rows[0];
        let run = true;
        for (let i = 1; i < m && run; i++) run = g.rows[i] === r0 + i;
        if (run) xg = x.subarray(r0 * C, (r0 + m) * C);
        else {
          xg = tmp("lora.x", m * C);
          for (let i = 0; i < m; i++) xg.set(x.subarray(g.rows[i] * C, (g.rows[i] + 1) * C), i * C);
        }
      }
      const ax = tmp("lora.ax", m * t.rank);
      const bax = tmp("lora.bax", m * R);
      ops.matmul(t.a, xg, m, ax);
      ops.matmul(t.b, ax, m, bax);
      const s = ref.adapter.bScale(t, ref.scale);
      for (let i = 0; i < m; i++) {
        const o = g.rows[i] * R;
        for (let j = 0; j < R; j++) out[o + j] = Math.fround(out[o + j] + Math.fround(bax[i * R + j] * s));
      }
    }
  }
}

/**
 * KernelSet path (forward.ts, when the base weights of a site and every adapter of the groups
 * live in one KernelSet `ks`). A site is a set of base matrices `ws` that read one input x
 * [nRows][cols] (q/k/v, gate/up, wo, down, output). Instead of two dispatches per matrix and
 * adapter after each base product:
 *   1. loraAProducts: the distinct A matrices of the groups' adapters targeting `ws`, each with an
 *      output [nRows][rank] over all rows; the caller appends them to the base products'
 *      matmulMany / normMatmul (same input, one dispatch; A x of a row does not depend on the
 *      other rows, and the fused norm feeds A the normalized rows as the unfused path does);
 *   2. loraBProducts: every (group, adapter, matrix) B product in one ks.matmulBatch (small
 *      ones run on the calling thread), then out += scale * B(A x) per row in adapter order.
 * Same bits as applyLora after each base product. When one adapter list covers every row of the
 * site (loraDeltas below: a single sequence, or a batch sharing it), the site instead passes its
 * deltas to ks.matmulMany / normMatmul, which adds them inside the products' own dispatch.
 */
export interface LoraA {
  t: LoraTensor;
  /** A x over all rows of the site: [nRows][rank]. */
  ax: Float32Array;
}

/** Whether every adapter of `groups` runs in `ks` (the KernelSet path above applies). */
export function loraInKernels(groups: readonly LoraGroup[], ks: KernelSet): boolean {
  for (const g of groups) for (const r of g.refs) if (r.adapter.kernels !== ks) return false;
  return true;
}

const AX_NAMES: string[] = [];
const XG_NAMES: string[] = [];
const BAX_NAMES: string[] = [];
const slotName = (names: string[], prefix: string, i: number) => (names[i] ??= `${prefix}${i}`);

/** Step 1 above: the A products to run beside the base products of `ws` (none: empty). */
export function loraAProducts(
  ws: readonly Weight[],
  groups: readonly LoraGroup[],
  nRows: number,
  tmp: (name: string, n: number) => Float32Array,
): LoraA[] {
  const out: LoraA[] = [];
  for (const g of groups) {
    if (g.rows.length === 0) continue;
    for (const ref of g.refs)
      for (const w of ws) {
        const t = ref.adapter.tensors.get(w.name);
        if (!t || out.some((e) => e.t === t)) continue;
        out.push({ t, ax: tmp(slotName(AX_NAMES, "lora.ax", out.length), nRows * t.rank) });
      }
  }
  return out;
}

/** Step 2 above: ys[i] [nRows][ws[i].rows] += each group's adapters' scale * B (A x) on its rows. */
export function loraBProducts(
  ks: KernelSet,
  ws: readonly Weight[],
  ys: readonly Float32Array[],
  groups: readonly LoraGroup[],
  as: readonly LoraA[],
  tmp: (name: string, n: number) => Float32Array,
): void {
  const items: MatmulItem[] = [];
  const adds: { out: Float32Array; rows: number[]; bax: Float32Array; R: number; s: number }[] = [];
  for (const g of groups) {
    const m = g.rows.length;
    if (m === 0) continue;
    const r0 = g.rows[0];
    let run = true;
    for (let i = 1; i < m && run; i++) run = g.rows[i] === r0 + i;
    for (const ref of g.refs)
      for (let wi = 0; wi < ws.length; wi++) {
        const t = ref.adapter.tensors.get(ws[wi].name);
        if (!t) continue;
        const ax = as.find((e) => e.t === t)!.ax;
        const r = t.rank;
        let xg: Float32Array;
        if (run) xg = r0 === 0 && m * r === ax.length ? ax : ax.subarray(r0 * r, (r0 + m) * r);
        else {
          xg = tmp(slotName(XG_NAMES, "lora.xg", items.length), m * r);
          for (let i = 0; i < m; i++) xg.set(ax.subarray(g.rows[i] * r, (g.rows[i] + 1) * r), i * r);
        }
        const R = ws[wi].rows;
        const bax = tmp(slotName(BAX_NAMES, "lora.bax", items.length), m * R);
        items.push({ w: t.b.kernel!.pw, X: xg, nTokens: m, Y: bax });
        adds.push({ out: ys[wi], rows: g.rows, bax, R, s: ref.adapter.bScale(t, ref.scale) });
      }
  }
  ks.matmulBatch(items);
  // In item order: per output matrix and row, adapters in the group's order (ggml's res + s*BAx).
  for (const { out, rows, bax, R, s } of adds)
    for (let i = 0; i < rows.length; i++) {
      const o = rows[i] * R;
      for (let j = 0; j < R; j++) out[o + j] = Math.fround(out[o + j] + Math.fround(bax[i * R + j] * s));
    }
}

/**
 * The KernelSet path when one adapter list applies to every row of the site (a single sequence,
 * or a batch whose sequences share it): its deltas for `ws` as KernelSet low-rank deltas, which
 * the products' own dispatch adds (ks.matmulMany / normMatmul `deltas`): same bits as
 * loraAProducts + loraBProducts. Undefined when the groups are not that (or nothing targets ws).
 */
export function loraDeltas(
  ws: readonly Weight[],
  groups: readonly LoraGroup[],
  nRows: number,
): LowRankDelta[] | undefined {
  let g: LoraGroup | undefined;
  for (const x of groups)
    if (x.rows.length) {
      if (g) return undefined;
      g = x;
    }
  if (!g || g.rows.length !== nRows || g.rows[0] !== 0 || g.rows[nRows - 1] !== nRows - 1) return undefined;
  // Decode calls this for every site and step with the same list (a request's array): built once.
  const site = siteCache(g.refs);
  const hit = site.get(ws[0]);
  if (hit && sameWeights(hit.ws, ws)) return hit.deltas;
  const deltas = buildDeltas(ws, g.refs);
  site.set(ws[0], { ws: [...ws], deltas });
  return deltas;
}

/**
 * loraDeltas' results per adapter list (the caller's array) and site (its first weight), valid
 * while the list holds the adapters and scales it was built from (checked on every use: a
 * caller may reuse an array with other entries).
 */
const DELTA_CACHE = new WeakMap<
  readonly LoraRef[],
  { snap: (LoraAdapter | number)[]; sites: Map<Weight, { ws: Weight[]; deltas: LowRankDelta[] | undefined }> }
>();

function siteCache(
  refs: readonly LoraRef[],
): Map<Weight, { ws: Weight[]; deltas: LowRankDelta[] | undefined }> {
  let e = DELTA_CACHE.get(refs);
  let ok = e !== undefined && e.snap.length === 2 * refs.length;
  for (let i = 0; ok && i < refs.length; i++)
    ok = e!.snap[2 * i] === refs[i].adapter && e!.snap[2 * i + 1] === refs[i].scale;
  if (!ok) {
    e = { snap: refs.flatMap((r) => [r.adapter, r.scale]), sites: new Map() };
    DELTA_CACHE.set(refs, e);
  }
  return e!.sites;
}

function sameWeights(a: readonly Weight[], b: readonly Weight[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function buildDeltas(ws: readonly Weight[], refs: readonly LoraRef[]): LowRankDelta[] | undefined {
  let out: LowRankDelta[] | undefined;
  for (const ref of refs)
    for (let i = 0; i < ws.length; i++) {
      const t = ref.adapter.tensors.get(ws[i].name);
      if (!t) continue;
      (out ??= []).push({
        out: i,
        a: t.a.kernel!.pw,
        b: t.b.kernel!.pw,
        scale: ref.adapter.bScale(t, ref.scale),
      });
    }
  return out;
}

/** Names of the types of an adapter's A/B (for listings). */
export function loraTypes(a: LoraAdapter): string[] {
  const s = new Set<string>();
  for (const t of a.tensors.values()) for (const x of [t.a, t.b]) s.add(ggmlTypeName(x.type));
  return [...s];
}
