/**
 * The llama architecture for training, forward and hand-written backward (llm.c style): every
 * activation the backward pass needs is kept in a buffer sized for (B, T) at construction.
 *
 * Per layer l, with x the residual stream (B*T, C):
 *   xn1 = rmsnorm(x, attn_norm)            q = rope(xn1 Wq^T), k = rope(xn1 Wk^T), v = xn1 Wv^T
 *   a   = attention(q, k, v)  (causal GQA)  xm = x + a Wo^T
 *   xn2 = rmsnorm(xm, ffn_norm)            h = silu(xn2 Wg^T) * (xn2 Wu^T)
 *   x'  = xm + h Wd^T
 * then logits = rmsnorm(x_L, output_norm) Wout^T (Wout = token_embd when tied) and masked
 * cross-entropy against the next tokens.
 */
import { InputError } from "../../errors.js";
import { allocFrom, type Alloc, type Buf, type BufCtor } from "../ops/buf.js";
import type { AttnShape } from "../ops/attention.js";
import {
  crossEntropy,
  distillCrossEntropy,
  tokenLogprobs,
  weightedCrossEntropy,
} from "../ops/crossentropy.js";

/**
 * Losses other than masked cross-entropy (SFT), all ending in dlogits for the same backward():
 *   weights  per-position coefficient w[n] of -log p(target): RL (w = dJ/dlogp), weighted SFT;
 *            mask and denom are ignored
 *   soft     (N, V) teacher distribution for distillation, over the masked positions / denom:
 *            alpha * tau^2 * KL(soft || softmax(logits / tau)) + (1 - alpha) * CE(targets)
 *            (ops/crossentropy.ts distillCrossEntropy)
 */
export interface LossSpec {
  weights?: Float32Array;
  soft?: Float32Array;
  /** distillation temperature: the student's softmax is taken at it too (default 1) */
  temperature?: number;
  /** distillation: weight of the KL term, 1 - alpha on the gold tokens' cross-entropy (default 1) */
  alpha?: number;
  /**
   * Input rows (N, C) that replace the token embedding where inputAt[i] = 1 (an image's rows from a
   * vision encoder); those positions send no gradient to token_embd.
   */
  inputRows?: Float32Array;
  inputAt?: Uint8Array;
}
import { embeddingBackward, embeddingForward } from "../ops/embedding.js";
import { TS_KERNELS, type ModelKernels } from "../ops/kernels.js";
import { rmsnormBackward, rmsnormForward } from "../ops/rmsnorm.js";
import { ropeBackward, ropeForward, ropeTable, type RopeTable } from "../ops/rope.js";
import { swigluBackward, swigluForward } from "../ops/swiglu.js";
import { headDim, type TrainModelConfig } from "./config.js";
import { paramLayout, view, type ParamLayout } from "./params.js";
import type { LoraParams } from "../lora.js";

interface LayerActs {
  x: Buf; // residual input (N, C)
  xn1: Buf;
  rstd1: Buf; // (N)
  q: Buf; // rotated (N, nH*hd)
  k: Buf; // rotated (N, nKV*hd)
  v: Buf; // (N, nKV*hd)
  att: Buf; // (B, nH, T, T)
  a: Buf; // attention output (N, nH*hd)
  xm: Buf; // residual after attention (N, C)
  xn2: Buf;
  rstd2: Buf;
  g: Buf; // (N, F)
  u: Buf;
  h: Buf;
}

interface LayerWeights {
  attnNorm: Buf;
  wq: Buf;
  wk: Buf;
  wv: Buf;
  wo: Buf;
  ffnNorm: Buf;
  wg: Buf;
  wu: Buf;
  wd: Buf;
}

export class LlamaTrainModel {
  /** LoRA on a frozen base (train/lora.ts): deltas after each target product, their gradients in backward. */
  lora: LoraParams | undefined;
  readonly layout: ParamLayout;
  readonly params: Buf;
  readonly grads: Buf;
  private readonly acts: LayerActs[] = [];
  private readonly xL: Buf; // final residual (N, C)
  private readonly xnf: Buf;
  private readonly rstdf: Buf;
  private readonly logits: Buf; // (N, V); overwritten by dlogits in backward
  private readonly rope: RopeTable;
  private readonly shape: AttnShape;
  private readonly N: number;
  private tokens: Int32Array = new Int32Array(0);
  private inputAt: Uint8Array | null = null;
  // backward scratch
  private readonly dx: Buf;
  private readonly dtmp: Buf;
  private readonly dq: Buf;
  private readonly dk: Buf;
  private readonly dv: Buf;
  private readonly da: Buf;
  private readonly dg: Buf;
  private readonly du: Buf;
  private readonly dh: Buf;
  private readonly datt: Buf;
  private readonly dqk: Buf;

  constructor(
    readonly cfg: TrainModelConfig,
    readonly B: number,
    readonly T: number,
    ctor: BufCtor | Alloc = Float32Array,
    params?: Buf,
    /** matmuls and attention: plain TS by default, the WASM kernels when buffers live there */
    readonly kern: ModelKernels = TS_KERNELS,
  ) {
    const alloc = allocFrom(ctor);
    this.layout = paramLayout(cfg);
    if (!Number.isInteger(B) || B <= 0 || !Number.isInteger(T) || T <= 0 || T > cfg.ctx) {
      throw new InputError(`batch shape (${B}, ${T}) must be positive with T <= ctx ${cfg.ctx}`, {
        field: "T",
      });
    }
    if (params && params.length !== this.layout.total) {
      throw new InputError(`params has ${params.length} values, layout needs ${this.layout.total}`);
    }
    this.params = params ?? alloc(this.layout.total);
    this.grads = alloc(this.layout.total);
    const N = (this.N = B * T);
    const { dim: C, ffn: F, vocab: V } = cfg;
    const hd = headDim(cfg);
    const qW = cfg.heads * hd;
    const kW = cfg.kvHeads * hd;
    this.shape = { B, T, nH: cfg.heads, nKV: cfg.kvHeads, hd };
    this.rope = ropeTable(T, hd, cfg.ropeBase);
    for (let l = 0; l < cfg.layers; l++) {
      this.acts.push({
        x: alloc(N * C),
        xn1: alloc(N * C),
        rstd1: alloc(N),
        q: alloc(N * qW),
        k: alloc(N * kW),
        v: alloc(N * kW),
        att: alloc(B * cfg.heads * T * T),
        a: alloc(N * qW),
        xm: alloc(N * C),
        xn2: alloc(N * C),
        rstd2: alloc(N),
        g: alloc(N * F),
        u: alloc(N * F),
        h: alloc(N * F),
      });
    }
    this.xL = alloc(N * C);
    this.xnf = alloc(N * C);
    this.rstdf = alloc(N);
    this.logits = alloc(N * V);
    this.dx = alloc(N * C);
    this.dtmp = alloc(N * C);
    this.dq = alloc(N * qW);
    this.dk = alloc(N * kW);
    this.dv = alloc(N * kW);
    this.da = alloc(N * qW);
    this.dg = alloc(N * F);
    this.du = alloc(N * F);
    this.dh = alloc(N * F);
    this.datt = alloc(4 * T);
    this.dqk = alloc(N * Math.max(qW, kW));
  }

  private w(name: string): Buf {
    return view(this.params, this.layout.byName.get(name)!);
  }
  private gw(name: string): Buf {
    return view(this.grads, this.layout.byName.get(name)!);
  }
  private layerW(l: number, get: (n: string) => Buf): LayerWeights {
    const p = `blk.${l}.`;
    return {
      attnNorm: get(p + "attn_norm.weight"),
      wq: get(p + "attn_q.weight"),
      wk: get(p + "attn_k.weight"),
      wv: get(p + "attn_v.weight"),
      wo: get(p + "attn_output.weight"),
      ffnNorm: get(p + "ffn_norm.weight"),
      wg: get(p + "ffn_gate.weight"),
      wu: get(p + "ffn_up.weight"),
      wd: get(p + "ffn_down.weight"),
    };
  }
  private outW(get: (n: string) => Buf): Buf {
    return get(this.cfg.tied ? "token_embd.weight" : "output.weight");
  }

  /**
   * Forward pass over tokens (B*T). With targets/mask, returns the masked loss sum divided by
   * `denom` (default: the number of masked positions) and leaves dlogits ready for backward().
   * Without targets, returns NaN and leaves the logits readable via `lastLogits`.
   */
  forward(
    tokens: Int32Array,
    targets?: Int32Array,
    mask?: Uint8Array,
    denom?: number,
    spec?: LossSpec,
  ): number {
    const { cfg, N, shape } = this;
    const { dim: C, ffn: F, vocab: V } = cfg;
    const hd = shape.hd;
    const qW = cfg.heads * hd;
    const kW = cfg.kvHeads * hd;
    if (tokens.length !== N)
      throw new InputError(`expected ${N} tokens, got ${tokens.length}`, { field: "tokens" });
    for (let i = 0; i < N; i++) {
      if (tokens[i] < 0 || tokens[i] >= V)
        throw new InputError(`token ${tokens[i]} out of range [0, ${V})`, { field: `tokens[${i}]` });
    }
    this.tokens = tokens;
    const x0 = this.acts.length ? this.acts[0].x : this.xL;
    embeddingForward(x0, tokens, this.w("token_embd.weight"), N, C);
    this.inputAt = null;
    if (spec?.inputAt) {
      const { inputRows: rows, inputAt: at } = spec;
      if (!rows || rows.length !== N * C || at.length !== N)
        throw new InputError(`input rows must be ${N} x ${C} with ${N} flags`, { field: "inputRows" });
      for (let i = 0; i < N; i++) if (at[i]) for (let j = 0; j < C; j++) x0[i * C + j] = rows[i * C + j];
      this.inputAt = at;
    }
    for (let l = 0; l < cfg.layers; l++) {
      const A = this.acts[l];
      const W = this.layerW(l, (n) => this.w(n));
      const next = l + 1 < cfg.layers ? this.acts[l + 1].x : this.xL;
      rmsnormForward(A.xn1, A.rstd1, A.x, W.attnNorm, N, C, cfg.normEps);
      const p = `blk.${l}.`;
      const lo = this.lora;
      this.kern.matmulForward(A.q, A.xn1, W.wq, N, C, qW);
      this.kern.matmulForward(A.k, A.xn1, W.wk, N, C, kW);
      this.kern.matmulForward(A.v, A.xn1, W.wv, N, C, kW);
      if (lo) {
        lo.forward(p + "attn_q.weight", A.q, A.xn1, N);
        lo.forward(p + "attn_k.weight", A.k, A.xn1, N);
        lo.forward(p + "attn_v.weight", A.v, A.xn1, N);
      }
      ropeForward(A.q, A.q, this.rope, this.B, this.T, cfg.heads);
      ropeForward(A.k, A.k, this.rope, this.B, this.T, cfg.kvHeads);
      this.kern.attentionForward(A.a, A.att, A.q, A.k, A.v, shape);
      this.kern.matmulForward(A.xm, A.a, W.wo, N, qW, C);
      lo?.forward(p + "attn_output.weight", A.xm, A.a, N);
      for (let i = 0; i < N * C; i++) A.xm[i] += A.x[i];
      rmsnormForward(A.xn2, A.rstd2, A.xm, W.ffnNorm, N, C, cfg.normEps);
      this.kern.matmulForward(A.g, A.xn2, W.wg, N, C, F);
      this.kern.matmulForward(A.u, A.xn2, W.wu, N, C, F);
      lo?.forward(p + "ffn_gate.weight", A.g, A.xn2, N);
      lo?.forward(p + "ffn_up.weight", A.u, A.xn2, N);
      swigluForward(A.h, A.g, A.u, N * F);
      this.kern.matmulForward(next, A.h, W.wd, N, F, C);
      lo?.forward(p + "ffn_down.weight", next, A.h, N);
      for (let i = 0; i < N * C; i++) next[i] += A.xm[i];
    }
    rmsnormForward(this.xnf, this.rstdf, this.xL, this.w("output_norm.weight"), N, C, cfg.normEps);
    this.kern.matmulForward(
      this.logits,
      this.xnf,
      this.outW((n) => this.w(n)),
      N,
      C,
      V,
    );
    if (targets && spec?.weights) {
      if (spec.weights.length !== N || targets.length !== N)
        throw new InputError(`targets and weights must have ${N} entries`, { field: "weights" });
      return weightedCrossEntropy(this.logits, targets, spec.weights, N, V, this.logits);
    }
    if (!targets || !mask) return NaN;
    if (spec?.soft) {
      if (spec.soft.length !== N * V || mask.length !== N)
        throw new InputError(`soft targets must have ${N}x${V} entries`, { field: "soft" });
      let c = denom;
      if (c === undefined) {
        c = 0;
        for (let i = 0; i < N; i++) c += mask[i] ? 1 : 0;
      }
      if (c === 0) throw new InputError("loss mask selects no positions", { field: "mask" });
      const tau = spec.temperature ?? 1;
      const alpha = spec.alpha ?? 1;
      const r = distillCrossEntropy(this.logits, spec.soft, targets, mask, N, V, c, this.logits, tau, alpha);
      return (alpha * tau * tau * r.kl + (1 - alpha) * r.ce) / c;
    }
    if (targets.length !== N || mask.length !== N)
      throw new InputError(`targets and mask must have ${N} entries`, { field: "targets" });
    let count = denom;
    if (count === undefined) {
      count = 0;
      for (let i = 0; i < N; i++) count += mask[i] ? 1 : 0;
    }
    if (count === 0) throw new InputError("loss mask selects no positions", { field: "mask" });
    return crossEntropy(this.logits, targets, mask, N, V, count, this.logits) / count;
  }

  /** log p(targets[n]) at every position under the current weights (a forward pass, no grads). */
  logprobs(tokens: Int32Array, targets: Int32Array): Float32Array {
    this.forward(tokens);
    // a float64 model (gradient checks) keeps float64 log-probabilities
    const out = (
      this.logits instanceof Float64Array ? new Float64Array(this.N) : new Float32Array(this.N)
    ) as Float32Array;
    tokenLogprobs(this.logits, targets, this.N, this.cfg.vocab, out);
    return out;
  }

  /** softmax(logits / temperature) at every position (N, V): a teacher's soft targets. */
  probs(tokens: Int32Array, temperature = 1): Float32Array {
    this.forward(tokens);
    const V = this.cfg.vocab;
    const out = new Float32Array(this.N * V);
    for (let n = 0; n < this.N; n++) {
      const o = n * V;
      let mx = -Infinity;
      for (let i = 0; i < V; i++) if (this.logits[o + i] > mx) mx = this.logits[o + i];
      let sum = 0;
      for (let i = 0; i < V; i++) sum += out[o + i] = Math.exp((this.logits[o + i] - mx) / temperature);
      for (let i = 0; i < V; i++) out[o + i] /= sum;
    }
    return out;
  }

  /** Logits (N, V) of the last forward() without targets. */
  get lastLogits(): Buf {
    return this.logits;
  }

  /** Zero the gradient buffer (backward accumulates). */
  zeroGrad(): void {
    this.grads.fill(0);
  }

  /** Backward from the dlogits the last forward() with targets left; accumulates into grads. */
  backward(): void {
    const { cfg, N, shape } = this;
    const { dim: C, ffn: F, vocab: V } = cfg;
    const hd = shape.hd;
    const qW = cfg.heads * hd;
    const kW = cfg.kvHeads * hd;
    const get = (n: string) => this.w(n);
    const gget = (n: string) => this.gw(n);
    // With a LoRA the base is frozen: its weight gradients are never used, so not computed.
    const frozen = this.lora !== undefined;
    const dW = (g: Buf): Buf | null => (frozen ? null : g);
    const dlogits = this.logits;
    const dx = this.dx;
    const dtmp = this.dtmp;
    dtmp.fill(0);
    this.kern.matmulBackward(dtmp, dW(this.outW(gget)), dlogits, this.xnf, this.outW(get), N, C, V);
    dx.fill(0);
    rmsnormBackward(
      dx,
      gget("output_norm.weight"),
      dtmp,
      this.xL,
      get("output_norm.weight"),
      this.rstdf,
      N,
      C,
    );
    for (let l = cfg.layers - 1; l >= 0; l--) {
      const A = this.acts[l];
      const W = this.layerW(l, get);
      const G = this.layerW(l, gget);
      // x' = xm + h Wd^T : dx flows to xm unchanged, and through the FFN
      this.dh.fill(0);
      const p = `blk.${l}.`;
      const lo = this.lora;
      this.kern.matmulBackward(this.dh, dW(G.wd), dx, A.h, W.wd, N, F, C);
      lo?.backward(p + "ffn_down.weight", this.dh, dx, A.h, N);
      this.dg.fill(0);
      this.du.fill(0);
      swigluBackward(this.dg, this.du, this.dh, A.g, A.u, N * F);
      dtmp.fill(0);
      this.kern.matmulBackward(dtmp, dW(G.wg), this.dg, A.xn2, W.wg, N, C, F);
      this.kern.matmulBackward(dtmp, dW(G.wu), this.du, A.xn2, W.wu, N, C, F);
      lo?.backward(p + "ffn_gate.weight", dtmp, this.dg, A.xn2, N);
      lo?.backward(p + "ffn_up.weight", dtmp, this.du, A.xn2, N);
      rmsnormBackward(dx, G.ffnNorm, dtmp, A.xm, W.ffnNorm, A.rstd2, N, C); // dx is now d(xm)
      // xm = x + a Wo^T
      this.da.fill(0);
      this.kern.matmulBackward(this.da, dW(G.wo), dx, A.a, W.wo, N, qW, C);
      lo?.backward(p + "attn_output.weight", this.da, dx, A.a, N);
      this.dq.fill(0);
      this.dk.fill(0);
      this.dv.fill(0);
      this.kern.attentionBackward(this.dq, this.dk, this.dv, this.da, A.att, A.q, A.k, A.v, shape, this.datt);
      dtmp.fill(0);
      // q, k were rotated in place: un-rotate their gradients before the projections
      const dqr = this.dqk.subarray(0, N * qW);
      dqr.fill(0);
      ropeBackward(dqr, this.dq, this.rope, this.B, this.T, cfg.heads);
      this.kern.matmulBackward(dtmp, dW(G.wq), dqr, A.xn1, W.wq, N, C, qW);
      lo?.backward(p + "attn_q.weight", dtmp, dqr, A.xn1, N);
      const dkr = this.dqk.subarray(0, N * kW);
      dkr.fill(0);
      ropeBackward(dkr, this.dk, this.rope, this.B, this.T, cfg.kvHeads);
      this.kern.matmulBackward(dtmp, dW(G.wk), dkr, A.xn1, W.wk, N, C, kW);
      lo?.backward(p + "attn_k.weight", dtmp, dkr, A.xn1, N);
      this.kern.matmulBackward(dtmp, dW(G.wv), this.dv, A.xn1, W.wv, N, C, kW);
      lo?.backward(p + "attn_v.weight", dtmp, this.dv, A.xn1, N);
      rmsnormBackward(dx, G.attnNorm, dtmp, A.x, W.attnNorm, A.rstd1, N, C); // dx is now d(x)
    }
    const at = this.inputAt;
    if (at) for (let i = 0; i < N; i++) if (at[i]) dx.fill(0, i * C, i * C + C);
    if (!frozen) embeddingBackward(gget("token_embd.weight"), dx, this.tokens, N, C);
  }
}
