/**
 * The operators the layer stack runs in plain TypeScript, as one swappable set:
 *  - `matmul`: products of weights (a weight attached to a KernelSet runs there; others in TS),
 *  - `siluMul`: h = silu(g) * u on rows the blocks hold in JS (MoE experts, the no-kernel FFN),
 *  - `attend`: attention over a cache without a kernel view (the dense JS cache, MLA's latent cache).
 *
 * `portableOps` (this folder) is what every user path gets: straightforward sums, portable
 * activation quantizers (src/quant `_ref` rounding). The conformance tests swap in the reference
 * set in src/model/reference/ggml-order, which reproduces one llama.cpp build's float order; no
 * production module imports that folder (see its index.ts).
 */
import type { KVCache } from "../../kv/cache.js";
import type { Weight } from "../weights.js";
import { attend, type AttnShape } from "./attention.js";
import { matmul } from "./linear.js";
import { geluTanh } from "./activation.js";

export interface BlockOps {
  readonly name: string;
  /**
   * out[t * outStride + r] = W[r, :] . x[t * xStride ..] for t < nTok. `vecOrder`: the product is
   * one of a MoE's expert products (a reference set may order such sums differently).
   */
  matmul(
    w: Weight,
    x: Float32Array,
    nTok: number,
    out: Float32Array,
    xStride?: number,
    outStride?: number,
    vecOrder?: boolean,
  ): void;
  /** h[ho + i] = silu(g[go + i]) * u[uo + i] for i < n (h may alias u). */
  siluMul(
    g: Float32Array,
    go: number,
    u: Float32Array,
    uo: number,
    h: Float32Array,
    ho: number,
    n: number,
  ): void;
  /** h[ho + i] = gelu_tanh(g[go + i]) * u[uo + i] for i < n (GeGLU; h may alias u). */
  geluMul(
    g: Float32Array,
    go: number,
    u: Float32Array,
    uo: number,
    h: Float32Array,
    ho: number,
    n: number,
  ): void;
  /** q: [nTok][nHead * headDimK] at positions pos0 + t -> out: [nTok][nHead * headDimV]. */
  attend(
    s: AttnShape,
    cache: KVCache,
    layer: number,
    q: Float32Array,
    nTok: number,
    pos0: number,
    out: Float32Array,
  ): void;
}

const f = Math.fround;

export const portableOps: BlockOps = {
  name: "portable",
  matmul,
  siluMul(g, go, u, uo, h, ho, n) {
    for (let i = 0; i < n; i++) {
      const x = g[go + i];
      h[ho + i] = f(f(x / f(1 + f(Math.exp(-x)))) * u[uo + i]);
    }
  },
  geluMul(g, go, u, uo, h, ho, n) {
    for (let i = 0; i < n; i++) h[ho + i] = f(geluTanh(g[go + i]) * u[uo + i]);
  },
  attend,
};
