/**
 * The encoder half of the tiny vision model as a training model: llama.cpp's LLaVA-style CLIP ViT
 * (patch embedding without bias, class token after the patches, learned positions, pre-LN, pre-norm
 * blocks with biased products, tanh GELU, bidirectional attention) and the mlp projector
 * (mm.0 -> GELU -> mm.2). Parameters are named and shaped as the mmproj tensors (row-major =
 * GGUF dims reversed), so a checkpoint exports to an mmproj directly and an mmproj warm-starts it.
 *
 * Input: normalized planar pixels [B][3][S][S] (what VisionModel.encodePixels takes). Output: one
 * row per token of [patch 0 .. patch n-1, class], (B, n+1, projDim); llama.cpp keeps rows 1..n
 * of that sequence (scripts/vision/export.mjs appends the zero block its "mlp" graph skips).
 */
import { InputError } from "../../errors.js";
import type { Rng } from "../../sampling/rng.js";
import type { AttnShape } from "../ops/attention.js";
import { biasBackward, biasForward } from "../ops/bias.js";
import { type Alloc, allocFrom, type Buf, type BufCtor } from "../ops/buf.js";
import { geluBackward, geluForward } from "../ops/gelu.js";
import { TS_KERNELS, type ModelKernels } from "../ops/kernels.js";
import { layernormBackward, layernormForward } from "../ops/layernorm.js";
import type { ParamEntry, ParamLayout } from "../model/params.js";

export interface VitConfig {
  imageSize: number;
  patchSize: number;
  /** encoder width, heads, FFN width, trained blocks */
  dim: number;
  heads: number;
  ffn: number;
  layers: number;
  /** projector hidden width and output width (the language model's n_embd) */
  mmHidden: number;
  projDim: number;
  eps: number;
}

export function vitPatches(c: VitConfig): number {
  return (c.imageSize / c.patchSize) ** 2;
}

export function validateVitConfig(c: VitConfig): void {
  const ints: (keyof VitConfig)[] = [
    "imageSize",
    "patchSize",
    "dim",
    "heads",
    "ffn",
    "layers",
    "mmHidden",
    "projDim",
  ];
  for (const k of ints)
    if (!Number.isInteger(c[k]) || (c[k] as number) <= 0)
      throw new InputError(`vision config ${k} must be a positive integer, got ${c[k]}`, { field: k });
  if (c.imageSize % c.patchSize !== 0)
    throw new InputError(`image size ${c.imageSize} is not a multiple of patch size ${c.patchSize}`, {
      field: "patchSize",
    });
  if (c.dim % c.heads !== 0)
    throw new InputError(`dim ${c.dim} is not a multiple of heads ${c.heads}`, { field: "heads" });
}

export function vitLayout(c: VitConfig): ParamLayout {
  validateVitConfig(c);
  const entries: ParamEntry[] = [];
  let offset = 0;
  const add = (name: string, shape: number[]) => {
    const size = shape.reduce((a, b) => a * b, 1);
    entries.push({ name, shape, offset, size, decay: shape.length > 1 });
    offset += size;
  };
  const { dim: D, patchSize: P, ffn: F } = c;
  add("v.patch_embd.weight", [D, 3, P, P]);
  add("v.class_embd", [D]);
  add("v.position_embd.weight", [vitPatches(c) + 1, D]);
  add("v.pre_ln.weight", [D]);
  add("v.pre_ln.bias", [D]);
  for (let l = 0; l < c.layers; l++) {
    const b = `v.blk.${l}.`;
    for (const t of ["attn_q", "attn_k", "attn_v", "attn_out"]) {
      add(`${b}${t}.weight`, [D, D]);
      add(`${b}${t}.bias`, [D]);
    }
    add(`${b}ln1.weight`, [D]);
    add(`${b}ln1.bias`, [D]);
    add(`${b}ln2.weight`, [D]);
    add(`${b}ln2.bias`, [D]);
    add(`${b}ffn_up.weight`, [F, D]);
    add(`${b}ffn_up.bias`, [F]);
    add(`${b}ffn_down.weight`, [D, F]);
    add(`${b}ffn_down.bias`, [D]);
  }
  add("mm.0.weight", [c.mmHidden, D]);
  add("mm.0.bias", [c.mmHidden]);
  add("mm.2.weight", [c.projDim, c.mmHidden]);
  add("mm.2.bias", [c.projDim]);
  return { entries, byName: new Map(entries.map((e) => [e.name, e])), total: offset };
}

/**
 * Seeded initialisation: matrices N(0, 1/fan_in) (output products of each residual branch
 * halved), class token and positions N(0, 0.02^2), LayerNorm gains 1, biases 0.
 */
export function initVitParams(params: Buf, layout: ParamLayout, rng: Rng): void {
  for (const e of layout.entries) {
    const v = params.subarray(e.offset, e.offset + e.size);
    if (e.name.endsWith(".bias")) v.fill(0);
    else if (/ln\d?\.weight$|pre_ln\.weight$/.test(e.name)) v.fill(1);
    else if (e.name === "v.class_embd" || e.name === "v.position_embd.weight")
      for (let i = 0; i < v.length; i++) v[i] = 0.02 * rng.normal();
    else {
      const fanIn = e.size / e.shape[0];
      const s = (/attn_out|ffn_down/.test(e.name) ? 0.5 : 1) / Math.sqrt(fanIn);
      for (let i = 0; i < v.length; i++) v[i] = s * rng.normal();
    }
  }
}

/**
 * A larger encoder that computes the same function as a trained one: more blocks and/or a wider
 * FFN (same width, heads, image and projector shapes). New parameters get the seeded
 * initialisation, except the products that write into the residual stream (a new block's attn_out
 * and ffn_down, the new FFN units' ffn_down columns), which start at zero, so the grown model's
 * output equals the old one's and training starts from where the old one stopped.
 */
export function growVitParams(from: VitConfig, params: Float32Array, to: VitConfig, rng: Rng): Float32Array {
  const same: (keyof VitConfig)[] = ["imageSize", "patchSize", "dim", "heads", "mmHidden", "projDim", "eps"];
  for (const k of same)
    if (from[k] !== to[k]) throw new InputError(`growing keeps ${k} (${from[k]} -> ${to[k]})`, { field: k });
  if (to.layers < from.layers || to.ffn < from.ffn)
    throw new InputError(
      `growing cannot shrink (layers ${from.layers} -> ${to.layers}, ffn ${from.ffn} -> ${to.ffn})`,
    );
  const src = vitLayout(from);
  if (params.length !== src.total)
    throw new InputError(`params have ${params.length} values, the config needs ${src.total}`);
  const dst = vitLayout(to);
  const out = new Float32Array(dst.total);
  initVitParams(out, dst, rng);
  const D = to.dim;
  const F0 = from.ffn;
  const F1 = to.ffn;
  for (const e of dst.entries) {
    const v = out.subarray(e.offset, e.offset + e.size);
    const old = src.byName.get(e.name);
    if (!old) {
      if (/attn_out|ffn_down/.test(e.name)) v.fill(0);
      continue;
    }
    const w = params.subarray(old.offset, old.offset + old.size);
    if (e.size === old.size) v.set(w);
    else if (/ffn_up\.(weight|bias)$/.test(e.name))
      v.set(w); // first F0 rows: the old units
    else if (e.name.endsWith("ffn_down.weight"))
      for (let d = 0; d < D; d++) {
        v.set(w.subarray(d * F0, d * F0 + F0), d * F1);
        v.fill(0, d * F1 + F0, d * F1 + F1);
      }
    else throw new InputError(`cannot grow ${e.name} (${old.size} -> ${e.size} values)`);
  }
  return out;
}

interface BlockActs {
  x: Buf; // block input (N, D)
  a: Buf; // ln1 out
  xh1: Buf;
  r1: Buf;
  q: Buf;
  k: Buf;
  v: Buf;
  att: Buf; // softmax rows (B, nH, T, T)
  qh: Buf; // q, k head-major (B, nH, T, hd); v transposed per head (B, nH, hd, T)
  kh: Buf;
  vt: Buf;
  o: Buf; // attention output (N, D)
  x2: Buf; // after the attention residual
  f: Buf; // ln2 out
  xh2: Buf;
  r2: Buf;
  u: Buf; // ffn_up pre-activation (N, F)
  g: Buf; // gelu(u)
}

export class VitTrainModel {
  readonly layout: ParamLayout;
  readonly params: Buf;
  readonly grads: Buf;
  /** output rows (B, n+1, projDim) of the last forward() */
  readonly out: Buf;
  /** where callers put d(loss)/d(out) for backward() (lives with the other buffers: WASM memory) */
  readonly dout: Buf;
  readonly T: number;
  readonly N: number;
  private readonly patches: Buf; // (B*n, 3*P*P)
  private readonly h0: Buf; // embeddings + positions (N, D)
  private readonly xh0: Buf;
  private readonly r0: Buf;
  private readonly blocks: BlockActs[] = [];
  private readonly feat: Buf; // final encoder states (N, D)
  private readonly m0: Buf; // (N, HID)
  private readonly gm: Buf;
  private readonly shape: AttnShape;
  // backward scratch
  private readonly dx: Buf;
  private readonly dt: Buf;
  private readonly dD: Buf;
  private readonly dq: Buf;
  private readonly dk: Buf;
  private readonly dv: Buf;
  private readonly dF: Buf;
  private readonly dU: Buf;
  private readonly dH: Buf;
  private readonly dP: Buf;
  private readonly oh: Buf;
  private readonly dpatch: Buf;

  constructor(
    readonly cfg: VitConfig,
    readonly B: number,
    ctor: BufCtor | Alloc = Float32Array,
    /** matmuls on the WASM kernels when buffers live there; attention is always TS (bidirectional) */
    readonly kern: ModelKernels = TS_KERNELS,
  ) {
    const alloc = allocFrom(ctor);
    if (!Number.isInteger(B) || B <= 0)
      throw new InputError(`batch ${B} must be a positive integer`, { field: "B" });
    this.layout = vitLayout(cfg);
    this.params = alloc(this.layout.total);
    this.grads = alloc(this.layout.total);
    const n = vitPatches(cfg);
    const T = (this.T = n + 1);
    const N = (this.N = B * T);
    const { dim: D, ffn: F, mmHidden: H, projDim: E, patchSize: P } = cfg;
    this.shape = { B, T, nH: cfg.heads, nKV: cfg.heads, hd: D / cfg.heads, causal: false };
    this.patches = alloc(B * n * 3 * P * P);
    this.h0 = alloc(N * D);
    this.xh0 = alloc(N * D);
    this.r0 = alloc(N);
    for (let l = 0; l < cfg.layers; l++)
      this.blocks.push({
        x: alloc(N * D),
        a: alloc(N * D),
        xh1: alloc(N * D),
        r1: alloc(N),
        q: alloc(N * D),
        k: alloc(N * D),
        v: alloc(N * D),
        att: alloc(B * cfg.heads * T * T),
        qh: alloc(N * D),
        kh: alloc(N * D),
        vt: alloc(N * D),
        o: alloc(N * D),
        x2: alloc(N * D),
        f: alloc(N * D),
        xh2: alloc(N * D),
        r2: alloc(N),
        u: alloc(N * F),
        g: alloc(N * F),
      });
    this.feat = alloc(N * D);
    this.m0 = alloc(N * H);
    this.gm = alloc(N * H);
    this.out = alloc(N * E);
    this.dout = alloc(N * E);
    this.dx = alloc(N * D);
    this.dt = alloc(N * D);
    this.dD = alloc(N * D);
    this.dq = alloc(N * D);
    this.dk = alloc(N * D);
    this.dv = alloc(N * D);
    this.dF = alloc(N * Math.max(F, H));
    this.dU = alloc(N * F);
    this.dH = alloc(N * H);
    this.dP = alloc(T * T);
    this.oh = alloc(N * D);
    this.dpatch = alloc(B * n * D);
  }

  w(name: string): Buf {
    const e = this.layout.byName.get(name);
    if (!e) throw new InputError(`no parameter ${name}`);
    return this.params.subarray(e.offset, e.offset + e.size);
  }

  private g(name: string): Buf {
    const e = this.layout.byName.get(name) as ParamEntry;
    return this.grads.subarray(e.offset, e.offset + e.size);
  }

  zeroGrad(): void {
    this.grads.fill(0);
  }

  /** Forward over B images of normalized planar pixels; returns `out` (B*(n+1), projDim). */
  forward(pixels: Buf): Buf {
    const c = this.cfg;
    const { B, T, N, kern } = this;
    const { dim: D, ffn: F, mmHidden: H, projDim: E, patchSize: P, imageSize: S, eps } = c;
    const n = T - 1;
    const grid = S / P;
    const K = 3 * P * P;
    if (pixels.length !== B * 3 * S * S)
      throw new InputError(`expected ${B * 3 * S * S} pixel values, got ${pixels.length}`, {
        field: "pixels",
      });
    // patches (b, cell) -> [channel][py][px], the patch_embd weight's (D, 3, P, P) order
    const X = this.patches;
    for (let b = 0; b < B; b++)
      for (let cy = 0; cy < grid; cy++)
        for (let cx = 0; cx < grid; cx++) {
          const row = (b * n + cy * grid + cx) * K;
          let j = 0;
          for (let ch = 0; ch < 3; ch++)
            for (let py = 0; py < P; py++) {
              const src = ((b * 3 + ch) * S + cy * P + py) * S + cx * P;
              for (let px = 0; px < P; px++) X[row + j++] = pixels[src + px];
            }
        }
    const h = this.h0;
    const tmp = this.dpatch; // (B*n, D) product, then placed with the class token and positions
    kern.matmulForward(tmp, X, this.w("v.patch_embd.weight"), B * n, K, D);
    const cls = this.w("v.class_embd");
    const pos = this.w("v.position_embd.weight");
    for (let b = 0; b < B; b++)
      for (let t = 0; t < T; t++) {
        const o = (b * T + t) * D;
        for (let i = 0; i < D; i++) h[o + i] = (t < n ? tmp[(b * n + t) * D + i] : cls[i]) + pos[t * D + i];
      }
    let x = this.blocks.length ? this.blocks[0].x : this.feat;
    layernormForward(x, this.xh0, this.r0, h, this.w("v.pre_ln.weight"), this.w("v.pre_ln.bias"), N, D, eps);
    for (let l = 0; l < c.layers; l++) {
      const A = this.blocks[l];
      const p = `v.blk.${l}.`;
      layernormForward(A.a, A.xh1, A.r1, A.x, this.w(`${p}ln1.weight`), this.w(`${p}ln1.bias`), N, D, eps);
      for (const [name, dst] of [
        ["attn_q", A.q],
        ["attn_k", A.k],
        ["attn_v", A.v],
      ] as const) {
        kern.matmulForward(dst, A.a, this.w(`${p}${name}.weight`), N, D, D);
        biasForward(dst, this.w(`${p}${name}.bias`), N, D);
      }
      this.attnForward(A);
      kern.matmulForward(A.x2, A.o, this.w(`${p}attn_out.weight`), N, D, D);
      biasForward(A.x2, this.w(`${p}attn_out.bias`), N, D);
      for (let i = 0; i < N * D; i++) A.x2[i] += A.x[i];
      layernormForward(A.f, A.xh2, A.r2, A.x2, this.w(`${p}ln2.weight`), this.w(`${p}ln2.bias`), N, D, eps);
      kern.matmulForward(A.u, A.f, this.w(`${p}ffn_up.weight`), N, D, F);
      biasForward(A.u, this.w(`${p}ffn_up.bias`), N, F);
      geluForward(A.g, A.u, N * F);
      const next = l + 1 < c.layers ? this.blocks[l + 1].x : this.feat;
      kern.matmulForward(next, A.g, this.w(`${p}ffn_down.weight`), N, F, D);
      biasForward(next, this.w(`${p}ffn_down.bias`), N, D);
      for (let i = 0; i < N * D; i++) next[i] += A.x2[i];
      x = next;
    }
    kern.matmulForward(this.m0, x, this.w("mm.0.weight"), N, D, H);
    biasForward(this.m0, this.w("mm.0.bias"), N, H);
    geluForward(this.gm, this.m0, N * H);
    kern.matmulForward(this.out, this.gm, this.w("mm.2.weight"), N, H, E);
    biasForward(this.out, this.w("mm.2.bias"), N, E);
    return this.out;
  }

  /**
   * Bidirectional multi-head attention (ops/attention.ts with causal: false, the reference in the
   * tests) as per-(image, head) products on the kernels: S = Qh Kh^T, P = softmax(S / sqrt(hd)),
   * Oh = P Vh (Vh kept transposed, so each product is the kernels' out = inp w^T).
   */
  private attnForward(A: BlockActs): void {
    const { B, T, kern } = this;
    const { nH, hd } = this.shape;
    const D = nH * hd;
    const scale = 1 / Math.sqrt(hd);
    for (let b = 0; b < B; b++)
      for (let t = 0; t < T; t++) {
        const src = (b * T + t) * D;
        for (let h = 0; h < nH; h++) {
          const hb = (b * nH + h) * T * hd;
          for (let i = 0; i < hd; i++) {
            A.qh[hb + t * hd + i] = A.q[src + h * hd + i];
            A.kh[hb + t * hd + i] = A.k[src + h * hd + i];
            A.vt[hb + i * T + t] = A.v[src + h * hd + i];
          }
        }
      }
    for (let bh = 0; bh < B * nH; bh++) {
      const qk = bh * T * hd;
      const P = A.att.subarray(bh * T * T, (bh + 1) * T * T);
      kern.matmulForward(P, A.qh.subarray(qk, qk + T * hd), A.kh.subarray(qk, qk + T * hd), T, hd, T);
      for (let t = 0; t < T; t++) {
        const r = t * T;
        let mx = -Infinity;
        for (let j = 0; j < T; j++) if (P[r + j] > mx) mx = P[r + j];
        let sum = 0;
        for (let j = 0; j < T; j++) {
          const e = Math.exp((P[r + j] - mx) * scale);
          P[r + j] = e;
          sum += e;
        }
        const inv = 1 / sum;
        for (let j = 0; j < T; j++) P[r + j] *= inv;
      }
      kern.matmulForward(this.oh.subarray(qk, qk + T * hd), P, A.vt.subarray(qk, qk + T * hd), T, T, hd);
    }
    for (let b = 0; b < B; b++)
      for (let h = 0; h < nH; h++) {
        const hb = (b * nH + h) * T * hd;
        for (let t = 0; t < T; t++)
          for (let i = 0; i < hd; i++) A.o[(b * T + t) * D + h * hd + i] = this.oh[hb + t * hd + i];
      }
  }

  /** d(attention output) dO (N, D) -> this.dq, dk, dv (N, D), overwritten. */
  private attnBackward(A: BlockActs, dO: Buf): void {
    const { B, T, kern } = this;
    const { nH, hd } = this.shape;
    const D = nH * hd;
    const scale = 1 / Math.sqrt(hd);
    // head-major scratch: dOh in oh; dQh, dKh, dVt in the token-major d buffers' partners
    const dOh = this.oh;
    const dQh = this.dD;
    const dKh = this.dt;
    const dVt = this.dU.subarray(0, this.N * D);
    for (let b = 0; b < B; b++)
      for (let h = 0; h < nH; h++) {
        const hb = (b * nH + h) * T * hd;
        for (let t = 0; t < T; t++)
          for (let i = 0; i < hd; i++) dOh[hb + t * hd + i] = dO[(b * T + t) * D + h * hd + i];
      }
    // (dO may share its buffer with dQh: read first, then clear)
    dQh.fill(0);
    dKh.fill(0);
    dVt.fill(0);
    const dP = this.dP;
    for (let bh = 0; bh < B * nH; bh++) {
      const qk = bh * T * hd;
      const span = (x: Buf) => x.subarray(qk, qk + T * hd);
      const P = A.att.subarray(bh * T * T, (bh + 1) * T * T);
      dP.fill(0);
      kern.matmulBackward(dP, span(dVt), span(dOh), P, span(A.vt), T, T, hd);
      for (let t = 0; t < T; t++) {
        const r = t * T;
        let dot = 0;
        for (let j = 0; j < T; j++) dot += dP[r + j] * P[r + j];
        for (let j = 0; j < T; j++) dP[r + j] = P[r + j] * (dP[r + j] - dot) * scale;
      }
      kern.matmulBackward(span(dQh), span(dKh), dP, span(A.qh), span(A.kh), T, hd, T);
    }
    for (let b = 0; b < B; b++)
      for (let t = 0; t < T; t++) {
        const dst = (b * T + t) * D;
        for (let h = 0; h < nH; h++) {
          const hb = (b * nH + h) * T * hd;
          for (let i = 0; i < hd; i++) {
            this.dq[dst + h * hd + i] = dQh[hb + t * hd + i];
            this.dk[dst + h * hd + i] = dKh[hb + t * hd + i];
            this.dv[dst + h * hd + i] = dVt[hb + i * T + t];
          }
        }
      }
  }

  /** Backward of the last forward() from d(out) (B*(n+1), projDim); accumulates into grads. */
  backward(dout: Buf): void {
    const c = this.cfg;
    const { B, T, N, kern } = this;
    const { dim: D, ffn: F, mmHidden: H, projDim: E, patchSize: P } = c;
    const n = T - 1;
    const K = 3 * P * P;
    const dH = this.dH.subarray(0, N * H);
    dH.fill(0);
    kern.matmulBackward(dH, this.g("mm.2.weight"), dout, this.gm, this.w("mm.2.weight"), N, H, E);
    biasBackward(this.g("mm.2.bias"), dout, N, E);
    const dm0 = this.dF.subarray(0, N * H);
    dm0.fill(0);
    geluBackward(dm0, dH, this.m0, N * H);
    const dx = this.dx;
    dx.fill(0);
    kern.matmulBackward(dx, this.g("mm.0.weight"), dm0, this.feat, this.w("mm.0.weight"), N, D, H);
    biasBackward(this.g("mm.0.bias"), dm0, N, H);
    for (let l = c.layers - 1; l >= 0; l--) {
      const A = this.blocks[l];
      const p = `v.blk.${l}.`;
      // ffn: dx is d(block output) = d(x2) through the residual + the branch
      const dg = this.dF;
      dg.fill(0);
      kern.matmulBackward(dg, this.g(`${p}ffn_down.weight`), dx, A.g, this.w(`${p}ffn_down.weight`), N, F, D);
      biasBackward(this.g(`${p}ffn_down.bias`), dx, N, D);
      const dU = this.dU;
      dU.fill(0);
      geluBackward(dU, dg, A.u, N * F);
      const df = this.dt;
      df.fill(0);
      kern.matmulBackward(df, this.g(`${p}ffn_up.weight`), dU, A.f, this.w(`${p}ffn_up.weight`), N, D, F);
      biasBackward(this.g(`${p}ffn_up.bias`), dU, N, F);
      // dx (d x2) += ln2 backward
      layernormBackward(
        dx,
        this.g(`${p}ln2.weight`),
        this.g(`${p}ln2.bias`),
        df,
        A.xh2,
        this.w(`${p}ln2.weight`),
        A.r2,
        N,
        D,
      );
      // attention branch
      const dO = this.dD;
      dO.fill(0);
      kern.matmulBackward(dO, this.g(`${p}attn_out.weight`), dx, A.o, this.w(`${p}attn_out.weight`), N, D, D);
      biasBackward(this.g(`${p}attn_out.bias`), dx, N, D);
      this.attnBackward(A, dO);
      const da = this.dt;
      da.fill(0);
      for (const [name, d] of [
        ["attn_q", this.dq],
        ["attn_k", this.dk],
        ["attn_v", this.dv],
      ] as const) {
        kern.matmulBackward(da, this.g(`${p}${name}.weight`), d, A.a, this.w(`${p}${name}.weight`), N, D, D);
        biasBackward(this.g(`${p}${name}.bias`), d, N, D);
      }
      layernormBackward(
        dx,
        this.g(`${p}ln1.weight`),
        this.g(`${p}ln1.bias`),
        da,
        A.xh1,
        this.w(`${p}ln1.weight`),
        A.r1,
        N,
        D,
      );
    }
    // pre-LN, then the embeddings
    const dh = this.dt;
    dh.fill(0);
    layernormBackward(
      dh,
      this.g("v.pre_ln.weight"),
      this.g("v.pre_ln.bias"),
      dx,
      this.xh0,
      this.w("v.pre_ln.weight"),
      this.r0,
      N,
      D,
    );
    const gpos = this.g("v.position_embd.weight");
    const gcls = this.g("v.class_embd");
    const dp = this.dpatch;
    for (let b = 0; b < B; b++)
      for (let t = 0; t < T; t++) {
        const o = (b * T + t) * D;
        for (let i = 0; i < D; i++) {
          const d = dh[o + i];
          gpos[t * D + i] += d;
          if (t < n) dp[(b * n + t) * D + i] = d;
          else gcls[i] += d;
        }
      }
    kern.matmulBackward(
      null,
      this.g("v.patch_embd.weight"),
      dp,
      this.patches,
      this.w("v.patch_embd.weight"),
      B * n,
      K,
      D,
    );
  }
}
