// Causal grouped-query attention, forward and backward, on f32 rows (the WASM twin of
// src/train/ops/attention.ts; same layout and the same formulas):
//   q: (B*T, nH*hd)   k, v: (B*T, nKV*hd)   out: (B*T, nH*hd)   att: (B, nH, T, T) softmax rows
// Query head h reads kv head h / (nH/nKV). Scale 1/sqrt(hd). hd must be a multiple of 4 (the
// loader falls back to TS otherwise). SIMD over hd; scalar over key positions.
import { hsum } from "../assembly/common";

/** e^x for x <= 0 (softmax after max subtraction): x = n ln2 + r, |r| <= ln2/2, degree-6 Taylor
 *  for e^r (relative error < 2e-7), 2^n through the exponent bits. Own code: no lookup tables
 *  (a data segment would be re-copied into the shared memory by every instance). */
// @ts-ignore: decorator
@inline function expNeg(x: f32): f32 {
  if (x < -87) return 0;
  const n = nearest<f32>(x * <f32>1.44269504);
  const r = x - n * <f32>0.693145752 - n * <f32>1.42860677e-6;
  const c6: f32 = 0.00138888892, c5: f32 = 0.00833333377, c4: f32 = 0.0416666679, c3: f32 = 0.166666672;
  const p: f32 = <f32>1 + r * (<f32>1 + r * (<f32>0.5 + r * (c3 + r * (c4 + r * (c5 + r * c6)))));
  return p * reinterpret<f32>((<i32>n + 127) << 23);
}

export function attn_fwd(out: usize, att: usize, q: usize, k: usize, v: usize, B: i32, T: i32, nH: i32, nKV: i32, hd: i32): void {
  const rep = nH / nKV;
  const qs = <usize>(nH * hd) << 2; // bytes per token row of q / out
  const ks = <usize>(nKV * hd) << 2; // bytes per token row of k / v
  const scale: f32 = 1 / Mathf.sqrt(<f32>hd);
  const hb = <usize>hd << 2;
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < nH; h++) {
      const kh = <usize>(h / rep) * hb;
      for (let t = 0; t < T; t++) {
        const qo = q + <usize>(b * T + t) * qs + <usize>h * hb;
        const ao = att + (<usize>((b * nH + h) * T + t) * <usize>T << 2);
        const kb = k + <usize>(b * T) * ks + kh;
        let mx: f32 = -Infinity;
        for (let t2 = 0; t2 <= t; t2++) {
          const ko = kb + <usize>t2 * ks;
          let s = f32x4.splat(0);
          for (let i = 0; i < hd; i += 4) s = f32x4.add(s, f32x4.mul(v128.load(qo + (<usize>i << 2)), v128.load(ko + (<usize>i << 2))));
          const d = hsum(s) * scale;
          store<f32>(ao + (<usize>t2 << 2), d);
          if (d > mx) mx = d;
        }
        let sum: f32 = 0;
        for (let t2 = 0; t2 <= t; t2++) {
          const p = ao + (<usize>t2 << 2);
          const e = expNeg(load<f32>(p) - mx);
          store<f32>(p, e);
          sum += e;
        }
        const inv: f32 = 1 / sum;
        for (let t2 = 0; t2 <= t; t2++) {
          const p = ao + (<usize>t2 << 2);
          store<f32>(p, load<f32>(p) * inv);
        }
        for (let t2 = t + 1; t2 < T; t2++) store<f32>(ao + (<usize>t2 << 2), 0);
        const oo = out + <usize>(b * T + t) * qs + <usize>h * hb;
        const vb = v + <usize>(b * T) * ks + kh;
        for (let i = 0; i < hd; i += 4) {
          const io = <usize>i << 2;
          let s = f32x4.splat(0);
          for (let t2 = 0; t2 <= t; t2++) {
            s = f32x4.add(s, f32x4.mul(v128.load32_splat(ao + (<usize>t2 << 2)), v128.load(vb + <usize>t2 * ks + io)));
          }
          v128.store(oo + io, s);
        }
      }
    }
  }
}

/** Accumulates into dq, dk, dv. datt: scratch of T floats. */
export function attn_bwd(dq: usize, dk: usize, dv: usize, dout: usize, att: usize, q: usize, k: usize, v: usize, B: i32, T: i32, nH: i32, nKV: i32, hd: i32, datt: usize): void {
  const rep = nH / nKV;
  const qs = <usize>(nH * hd) << 2;
  const ks = <usize>(nKV * hd) << 2;
  const scale: f32 = 1 / Mathf.sqrt(<f32>hd);
  const hb = <usize>hd << 2;
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < nH; h++) {
      const kh = <usize>(h / rep) * hb;
      for (let t = 0; t < T; t++) {
        const qo = <usize>(b * T + t) * qs + <usize>h * hb;
        const ao = att + (<usize>((b * nH + h) * T + t) * <usize>T << 2);
        const kb = <usize>(b * T) * ks + kh;
        // d(att) = dout . v ; dv += att * dout
        let dot: f32 = 0;
        for (let t2 = 0; t2 <= t; t2++) {
          const vo = kb + <usize>t2 * ks;
          const a = v128.load32_splat(ao + (<usize>t2 << 2));
          let s = f32x4.splat(0);
          for (let i = 0; i < hd; i += 4) {
            const io = <usize>i << 2;
            const g = v128.load(dout + qo + io);
            s = f32x4.add(s, f32x4.mul(g, v128.load(v + vo + io)));
            v128.store(dv + vo + io, f32x4.add(v128.load(dv + vo + io), f32x4.mul(a, g)));
          }
          const d = hsum(s);
          store<f32>(datt + (<usize>t2 << 2), d);
          dot += load<f32>(ao + (<usize>t2 << 2)) * d;
        }
        // softmax backward, then through the scaled dot product
        for (let t2 = 0; t2 <= t; t2++) {
          const dpre: f32 = load<f32>(ao + (<usize>t2 << 2)) * (load<f32>(datt + (<usize>t2 << 2)) - dot) * scale;
          if (dpre == 0) continue;
          const sp = f32x4.splat(dpre);
          const ko = kb + <usize>t2 * ks;
          for (let i = 0; i < hd; i += 4) {
            const io = <usize>i << 2;
            v128.store(dq + qo + io, f32x4.add(v128.load(dq + qo + io), f32x4.mul(sp, v128.load(k + ko + io))));
            v128.store(dk + ko + io, f32x4.add(v128.load(dk + ko + io), f32x4.mul(sp, v128.load(q + qo + io))));
          }
        }
      }
    }
  }
}
