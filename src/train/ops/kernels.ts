/**
 * The heavy ops of the model behind one interface: the linear-layer products and causal
 * attention. TS_KERNELS is the plain-TS reference (any Buf; Float64Array in the gradient checks);
 * src/train/wasm/kernels.ts implements the same four on the WASM SIMD training kernels.
 */
import { attentionBackward, attentionForward, type AttnShape } from "./attention.js";
import type { Buf } from "./buf.js";
import { matmulBackward, matmulForward } from "./matmul.js";

export interface ModelKernels {
  /** out (N, O) = inp (N, I) w^T, w (O, I) */
  matmulForward(out: Buf, inp: Buf, w: Buf, N: number, I: number, O: number): void;
  /** dinp (N, I) += dout w; dw (O, I) += dout^T inp (each skipped when null: a frozen weight) */
  matmulBackward(
    dinp: Buf | null,
    dw: Buf | null,
    dout: Buf,
    inp: Buf,
    w: Buf,
    N: number,
    I: number,
    O: number,
  ): void;
  attentionForward(out: Buf, att: Buf, q: Buf, k: Buf, v: Buf, s: AttnShape): void;
  /** accumulates into dq, dk, dv; datt is scratch of 4 T (the WASM kernel works on 4 query rows at a time) */
  attentionBackward(
    dq: Buf,
    dk: Buf,
    dv: Buf,
    dout: Buf,
    att: Buf,
    q: Buf,
    k: Buf,
    v: Buf,
    s: AttnShape,
    datt: Buf,
  ): void;
}

export const TS_KERNELS: ModelKernels = {
  matmulForward,
  matmulBackward,
  attentionForward,
  attentionBackward,
};
