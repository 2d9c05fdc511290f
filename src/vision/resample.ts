/**
 * Pillow-compatible separable resampling of 8-bit RGB images (bilinear, bicubic a = -0.5,
 * Lanczos-3), the algorithm llama.cpp's mtmd-image.cpp uses so that its preprocessing matches the
 * Python processors. Integer results, so our preprocessing equals llama.cpp's bit for bit:
 *
 *   per output pixel xx: center = (xx + 0.5) * scale, scale = in / out; the filter is widened by
 *   filterscale = max(scale, 1) when downsampling; input pixels xmin .. xmin + cnt - 1 with
 *   xmin = trunc(center - support + 0.5) (>= 0), end = trunc(center + support + 0.5) (<= in);
 *   weights filter((x + xmin - center + 0.5) / filterscale), normalized to sum 1 in double, then
 *   fixed point: trunc(w * 2^22 +- 0.5).
 *   out = clip8((2^21 + sum(p * w)) >> 22), horizontal pass first, then vertical.
 */
import type { RgbImage } from "./image.js";

export type ResizeFilter = "bilinear" | "bicubic" | "lanczos";

const PRECISION_BITS = 32 - 8 - 2;
const SUPPORT: Record<ResizeFilter, number> = { bilinear: 1, bicubic: 2, lanczos: 3 };

function sinc(v: number): number {
  if (v === 0) return 1;
  const p = v * Math.PI;
  return Math.sin(p) / p;
}

function filterWeight(filter: ResizeFilter, x: number): number {
  if (filter === "lanczos") return -3 <= x && x < 3 ? sinc(x) * sinc(x / 3) : 0;
  const ax = Math.abs(x);
  if (filter === "bilinear") return ax < 1 ? 1 - ax : 0;
  const a = -0.5;
  if (ax < 1) return ((a + 2) * ax - (a + 3)) * ax * ax + 1;
  if (ax < 2) return (((ax - 5) * ax + 8) * ax - 4) * a;
  return 0;
}

interface Coeffs {
  ksize: number;
  /** [out][2]: first input index, count. */
  bounds: Int32Array;
  /** [out][ksize] fixed-point weights. */
  weights: Int32Array;
}

function coefficients(filter: ResizeFilter, inSize: number, outSize: number): Coeffs {
  const scale = inSize / outSize;
  const filterscale = Math.max(scale, 1);
  const support = SUPPORT[filter] * filterscale;
  const ksize = Math.ceil(support) * 2 + 1;
  const bounds = new Int32Array(outSize * 2);
  const weights = new Int32Array(outSize * ksize);
  const pre = new Float64Array(ksize);
  const fxp = 2 ** PRECISION_BITS;
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    const xmin = Math.max(0, Math.trunc(center - support + 0.5));
    const xcnt = Math.min(inSize, Math.trunc(center + support + 0.5)) - xmin;
    let ww = 0;
    pre.fill(0);
    for (let x = 0; x < xcnt; x++) {
      const w = filterWeight(filter, (x + xmin - center + 0.5) / filterscale);
      pre[x] = w;
      ww += w;
    }
    for (let x = 0; x < ksize; x++) {
      const w = x < xcnt && ww !== 0 ? pre[x]! / ww : x < xcnt ? pre[x]! : 0;
      weights[xx * ksize + x] = Math.trunc(w * fxp + (w < 0 ? -0.5 : 0.5));
    }
    bounds[xx * 2] = xmin;
    bounds[xx * 2 + 1] = xcnt;
  }
  return { ksize, bounds, weights };
}

const clip8 = (v: number) => Math.max(0, Math.min(255, v));

function horizontal(src: Uint8Array, inW: number, h: number, outW: number, k: Coeffs): Uint8Array {
  const out = new Uint8Array(outW * h * 3);
  const bias = 1 << (PRECISION_BITS - 1);
  for (let y = 0; y < h; y++) {
    for (let xx = 0; xx < outW; xx++) {
      const xmin = k.bounds[xx * 2]!;
      const xcnt = k.bounds[xx * 2 + 1]!;
      let s0 = bias;
      let s1 = bias;
      let s2 = bias;
      let p = (y * inW + xmin) * 3;
      for (let x = 0; x < xcnt; x++, p += 3) {
        const w = k.weights[xx * k.ksize + x]!;
        s0 += src[p]! * w;
        s1 += src[p + 1]! * w;
        s2 += src[p + 2]! * w;
      }
      const o = (y * outW + xx) * 3;
      out[o] = clip8(s0 >> PRECISION_BITS);
      out[o + 1] = clip8(s1 >> PRECISION_BITS);
      out[o + 2] = clip8(s2 >> PRECISION_BITS);
    }
  }
  return out;
}

function vertical(src: Uint8Array, w: number, outH: number, k: Coeffs): Uint8Array {
  const rowLen = w * 3;
  const out = new Uint8Array(rowLen * outH);
  const acc = new Float64Array(rowLen);
  for (let yy = 0; yy < outH; yy++) {
    const ymin = k.bounds[yy * 2]!;
    const ycnt = k.bounds[yy * 2 + 1]!;
    acc.fill(1 << (PRECISION_BITS - 1));
    for (let y = 0; y < ycnt; y++) {
      const wt = k.weights[yy * k.ksize + y]!;
      const r = (ymin + y) * rowLen;
      for (let i = 0; i < rowLen; i++) acc[i] += src[r + i]! * wt;
    }
    for (let i = 0; i < rowLen; i++) out[yy * rowLen + i] = clip8(acc[i]! >> PRECISION_BITS);
  }
  return out;
}

/** Resize an RGB image to width x height (no aspect handling: see preprocess.ts). */
export function resizeRgb(img: RgbImage, width: number, height: number, filter: ResizeFilter): RgbImage {
  let data = img.data;
  let w = img.width;
  if (width !== img.width) {
    data = horizontal(data, img.width, img.height, width, coefficients(filter, img.width, width));
    w = width;
  }
  if (height !== img.height) data = vertical(data, w, height, coefficients(filter, img.height, height));
  return { width, height, data: data === img.data ? data.slice() : data };
}
