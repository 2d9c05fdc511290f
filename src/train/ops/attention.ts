/**
 * Causal grouped-query attention over rotated q, k and v.
 *   q: (B*T, nH*hd)   k, v: (B*T, nKV*hd)   out: (B*T, nH*hd)   att: (B, nH, T, T) softmax rows
 * Query head h reads kv head floor(h / (nH/nKV)) (ggml's mul_mat broadcast rule, as llama.cpp).
 * Scale 1/sqrt(hd). Position t attends to 0..t of its own sequence, or to all T positions when
 * `causal` is false (a ViT encoder; plain TS only: the WASM kernels are causal).
 */
import type { Buf } from "./buf.js";

export interface AttnShape {
  B: number;
  T: number;
  nH: number;
  nKV: number;
  hd: number;
  /** default true */
  causal?: boolean;
}

export function attentionForward(out: Buf, att: Buf, q: Buf, k: Buf, v: Buf, s: AttnShape): void {
  const { B, T, nH, nKV, hd } = s;
  const rep = nH / nKV;
  const qW = nH * hd;
  const kW = nKV * hd;
  const scale = 1 / Math.sqrt(hd);
  const full = s.causal === false;
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < nH; h++) {
      const kh = Math.floor(h / rep) * hd;
      for (let t = 0; t < T; t++) {
        const qo = (b * T + t) * qW + h * hd;
        const ao = ((b * nH + h) * T + t) * T;
        const last = full ? T - 1 : t;
        let mx = -Infinity;
        for (let t2 = 0; t2 <= last; t2++) {
          const ko = (b * T + t2) * kW + kh;
          let d = 0;
          for (let i = 0; i < hd; i++) d += q[qo + i] * k[ko + i];
          d *= scale;
          att[ao + t2] = d;
          if (d > mx) mx = d;
        }
        let sum = 0;
        for (let t2 = 0; t2 <= last; t2++) {
          const e = Math.exp(att[ao + t2] - mx);
          att[ao + t2] = e;
          sum += e;
        }
        const inv = 1 / sum;
        for (let t2 = 0; t2 <= last; t2++) att[ao + t2] *= inv;
        for (let t2 = last + 1; t2 < T; t2++) att[ao + t2] = 0;
        const oo = qo;
        for (let i = 0; i < hd; i++) out[oo + i] = 0;
        for (let t2 = 0; t2 <= last; t2++) {
          const a = att[ao + t2];
          const vo = (b * T + t2) * kW + kh;
          for (let i = 0; i < hd; i++) out[oo + i] += a * v[vo + i];
        }
      }
    }
  }
}

/** Accumulates into dq, dk, dv. `datt` is scratch of length T. */
export function attentionBackward(
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
): void {
  const { B, T, nH, nKV, hd } = s;
  const rep = nH / nKV;
  const qW = nH * hd;
  const kW = nKV * hd;
  const scale = 1 / Math.sqrt(hd);
  const full = s.causal === false;
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < nH; h++) {
      const kh = Math.floor(h / rep) * hd;
      for (let t = 0; t < T; t++) {
        const qo = (b * T + t) * qW + h * hd;
        const ao = ((b * nH + h) * T + t) * T;
        const last = full ? T - 1 : t;
        // d(att) = dout . v ; dv += att * dout
        let dot = 0;
        for (let t2 = 0; t2 <= last; t2++) {
          const vo = (b * T + t2) * kW + kh;
          const a = att[ao + t2];
          let d = 0;
          for (let i = 0; i < hd; i++) {
            d += dout[qo + i] * v[vo + i];
            dv[vo + i] += a * dout[qo + i];
          }
          datt[t2] = d;
          dot += a * d;
        }
        // softmax backward, then through the scaled dot product
        for (let t2 = 0; t2 <= last; t2++) {
          const dpre = att[ao + t2] * (datt[t2] - dot) * scale;
          if (dpre === 0) continue;
          const ko = (b * T + t2) * kW + kh;
          for (let i = 0; i < hd; i++) {
            dq[qo + i] += dpre * k[ko + i];
            dk[ko + i] += dpre * q[qo + i];
          }
        }
      }
    }
  }
}
