/**
 * ModelKernels on the WASM SIMD training kernels. Every buffer must be a Float32Array view into
 * the kernels' shared memory (allocated from a WasmArena); pointers are their byte offsets.
 *   matmulForward   out (N, O)  = inp (N, I) w^T          w (O, I)
 *   matmulBackward  dinp (N, I) += dout (N, O) w
 *                   dw (O, I)   += dout^T inp           (either skipped when null)
 *   attention       causal GQA as ops/attention.ts (head dim a multiple of 4, else TS; non-causal: TS)
 */
import { KernelError } from "../../errors.js";
import { attentionBackward, attentionForward } from "../ops/attention.js";
import type { Buf } from "../ops/buf.js";
import type { ModelKernels } from "../ops/kernels.js";
import type { TrainExports } from "./module.js";

export function wasmKernels(k: TrainExports, memory: WebAssembly.Memory): ModelKernels {
  const ptr = (b: Buf, name: string, n: number): number => {
    if (!(b instanceof Float32Array) || !(b.buffer instanceof SharedArrayBuffer))
      throw new KernelError(`${name} is not a view into the training kernels' memory`, { field: name });
    if (b.length < n || b.byteOffset + 4 * n > memory.buffer.byteLength)
      throw new KernelError(`${name} holds ${b.length} floats, the op needs ${n}`, { field: name });
    return b.byteOffset;
  };
  return {
    matmulForward(out, inp, w, N, I, O) {
      k.mm_nt(ptr(out, "out", N * O), ptr(inp, "inp", N * I), ptr(w, "w", O * I), N, I, O, 0);
    },
    matmulBackward(dinp, dw, dout, inp, w, N, I, O) {
      const pd = ptr(dout, "dout", N * O);
      if (dinp) k.mm_nn(ptr(dinp, "dinp", N * I), pd, ptr(w, "w", O * I), N, O, I, O, 1, 1);
      if (dw) k.mm_nn(ptr(dw, "dw", O * I), pd, ptr(inp, "inp", N * I), O, N, I, 1, O, 1);
    },
    attentionForward(out, att, q, k_, v, s) {
      if (s.hd % 4 !== 0 || s.causal === false) return attentionForward(out, att, q, k_, v, s);
      const N = s.B * s.T;
      const qn = N * s.nH * s.hd;
      const kn = N * s.nKV * s.hd;
      k.attn_fwd(
        ptr(out, "out", qn),
        ptr(att, "att", s.B * s.nH * s.T * s.T),
        ptr(q, "q", qn),
        ptr(k_, "k", kn),
        ptr(v, "v", kn),
        s.B,
        s.T,
        s.nH,
        s.nKV,
        s.hd,
      );
    },
    attentionBackward(dq, dk, dv, dout, att, q, k_, v, s, datt) {
      if (s.hd % 4 !== 0 || s.causal === false)
        return attentionBackward(dq, dk, dv, dout, att, q, k_, v, s, datt);
      const N = s.B * s.T;
      const qn = N * s.nH * s.hd;
      const kn = N * s.nKV * s.hd;
      k.attn_bwd(
        ptr(dq, "dq", qn),
        ptr(dk, "dk", kn),
        ptr(dv, "dv", kn),
        ptr(dout, "dout", qn),
        ptr(att, "att", s.B * s.nH * s.T * s.T),
        ptr(q, "q", qn),
        ptr(k_, "k", kn),
        ptr(v, "v", kn),
        s.B,
        s.T,
        s.nH,
        s.nKV,
        s.hd,
        ptr(datt, "datt", 4 * s.T),
      );
    },
  };
}
