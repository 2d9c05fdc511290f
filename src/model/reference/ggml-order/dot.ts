/**
 * Float dot products in the exact float32 operation order of ggml's CPU backend (x86 AVX2+FMA
 * build, the one llama.cpp's prebuilt binaries run here), for the plain-TS reference path.
 *
 * Why: values that are later rounded to half precision (an F16 KV cache, activations of F16 weight
 * products) turn a 1-ulp float32 difference into a 1-ulp *half* difference (~5e-4 relative) when
 * the value sits near a half rounding midpoint. With a different summation order, a few such flips
 * per forward pass moved logits by 1e-3 against llama.cpp; with the same order they do not occur.
 *
 * Two orders exist, chosen by ggml per product:
 * - vec_dot (decode, one activation row): 4 accumulators x 8 lanes over blocks of 32, FMA; reduce
 *   acc0+acc2, acc1+acc3, then those two, then the 8 lanes as (l0+l4)+(l1+l5) .. by two hadds;
 *   the n % 32 leftovers are added one by one (float for F32 data, double for F16 data).
 * - tinyBLAS (llamafile sgemm, 2+ activation rows, length a multiple of 8): one 8-lane FMA
 *   accumulator; horizontal sum ((l0+l4)+(l2+l6)) + ((l1+l5)+(l3+l7)).
 * Inputs are float32 values (half data already widened, exactly).
 */
import { fp16ToF32, f32ToFp16 } from "../../../kernels/ref/fp16.js";
import { geluTanh } from "../../blocks/activation.js";
const f = Math.fround;

const ACC = new Float64Array(32);
const LANE = new Float64Array(8);

/** ggml_vec_dot_f32 / ggml_vec_dot_f16 order. `halfData`: leftovers summed in double (f16 kernel). */
export function dotVec(
  a: Float32Array,
  ao: number,
  b: Float32Array,
  bo: number,
  n: number,
  halfData = false,
): number {
  const np = n & ~31;
  const acc = ACC;
  acc.fill(0);
  for (let i = 0; i < np; i += 32) {
    for (let k = 0; k < 32; k++) acc[k] = f(a[ao + i + k] * b[bo + i + k] + acc[k]);
  }
  // sum[0] += sum[2]; sum[1] += sum[3]; sum[0] += sum[1] (8-lane vectors), then lanes.
  const x = LANE;
  for (let m = 0; m < 8; m++) x[m] = f(f(acc[m] + acc[16 + m]) + f(acc[8 + m] + acc[24 + m]));
  const t0 = f(x[0] + x[4]);
  const t1 = f(x[1] + x[5]);
  const t2 = f(x[2] + x[6]);
  const t3 = f(x[3] + x[7]);
  let s = f(f(t0 + t1) + f(t2 + t3));
  if (halfData) {
    for (let i = np; i < n; i++) s += a[ao + i] * b[bo + i];
  } else {
    for (let i = np; i < n; i++) s = f(s + f(a[ao + i] * b[bo + i]));
  }
  return f(s);
}

/** llamafile tinyBLAS order (n % 8 === 0). */
export function dotTiny(a: Float32Array, ao: number, b: Float32Array, bo: number, n: number): number {
  const c = LANE;
  c.fill(0);
  for (let l = 0; l < n; l += 8) {
    for (let m = 0; m < 8; m++) c[m] = f(a[ao + l + m] * b[bo + l + m] + c[m]);
  }
  const t0 = f(c[4] + c[0]);
  const t1 = f(c[5] + c[1]);
  const t2 = f(c[6] + c[2]);
  const t3 = f(c[7] + c[3]);
  return f(f(t0 + t2) + f(t1 + t3));
}

/**
 * The order ggml uses for one output of a product with `nRows` activation rows of length n:
 * tinyBLAS when there are 2+ rows, the length is a multiple of 8 and the activation is contiguous,
 * else vec_dot.
 */
export function dotGgml(
  a: Float32Array,
  ao: number,
  b: Float32Array,
  bo: number,
  n: number,
  nRows: number,
  halfData: boolean,
  contiguous = true,
): number {
  if (nRows >= 2 && contiguous && n % 8 === 0) return dotTiny(a, ao, b, bo, n);
  return dotVec(a, ao, b, bo, n, halfData);
}

const FB = new Float32Array(1);
const IB = new Int32Array(FB.buffer);
const bitsOf = (x: number) => ((FB[0] = x), IB[0]);
const fromBits = (i: number) => ((IB[0] = i | 0), FB[0]);
/** Fused multiply-add a * b + c rounded once to float32 (a * b is exact in double for floats). */
const fma = (a: number, b: number, c: number) => f(a * b + c);

/**
 * ggml_v_expf (AVX2 lane, the vectorised exp of ggml's softmax and SiLU): range reduction by
 * n = round(x / ln2), a degree-5 polynomial on the remainder, scaled by 2^n; differs from a
 * correctly rounded expf by up to ~1.5 ulp, which is why it is reproduced here.
 */
export function expfGgml(x: number): number {
  const r = 12582912; // 0x1.8p23
  const z = fma(x, 1.44269502162933349609375, r); // 0x1.715476p+0
  const n = f(z - r);
  const b = f(f(x - n * 0.693145751953125) - n * 1.428606765330187045037746429443359375e-6); // ln2 hi, lo
  const e = bitsOf(z) << 23;
  const k = fromBits(e + 0x3f800000);
  const u = f(b * b);
  const j = fma(
    fma(
      fma(0.008247390389442444, b, 0.04189976677298546),
      u,
      fma(0.16668395698070526, b, 0.4999912679195404),
    ),
    u,
    f(0.99999940395355224609375 * b),
  );
  if (!(Math.abs(n) > 126)) return fma(j, k, k);
  const g = n <= 0 ? 0x82000000 | 0 : 0;
  const s1 = fromBits(g + 0x7f000000);
  const s2 = fromBits(e - g);
  if (Math.abs(n) > 192) return f(s1 * s1);
  return f(fma(s2, j, s2) * s1);
}

/**
 * ggml_vec_soft_max_f32: y[i] = exp(x[i] - max) (vector exp on blocks of 8, expf on the tail),
 * returns the double sum of the blocks' float horizontal sums and the tail values.
 */
export function softmaxExpGgml(x: Float32Array, n: number, max: number): number {
  let sum = 0;
  let i = 0;
  for (; i + 7 < n; i += 8) {
    for (let m = 0; m < 8; m++) x[i + m] = expfGgml(f(x[i + m] - max));
    const t0 = f(x[i + 4] + x[i]);
    const t1 = f(x[i + 5] + x[i + 1]);
    const t2 = f(x[i + 6] + x[i + 2]);
    const t3 = f(x[i + 7] + x[i + 3]);
    sum += f(f(t0 + t2) + f(t1 + t3));
  }
  for (; i < n; i++) {
    x[i] = f(Math.exp(f(x[i] - max)));
    sum += x[i];
  }
  return sum;
}

/**
 * ggml_vec_swiglu_f32: h[i] = silu(g[i]) * u[i], silu(x) = x / (1 + exp(-x)) with the vector exp
 * on blocks of 8 and expf on the tail. Arrays of n floats at the given offsets; h may alias u.
 */
export function swigluGgml(
  g: Float32Array,
  go: number,
  u: Float32Array,
  uo: number,
  h: Float32Array,
  ho: number,
  n: number,
): void {
  let i = 0;
  for (; i + 7 < n; i += 8) {
    for (let m = i; m < i + 8; m++) {
      const x = g[go + m];
      h[ho + m] = f(f(x / f(1 + expfGgml(f(0 - x)))) * u[uo + m]);
    }
  }
  for (; i < n; i++) {
    const x = g[go + i];
    h[ho + i] = f(f(x / f(1 + f(Math.exp(-x)))) * u[uo + i]);
  }
}

/**
 * ggml_vec_geglu_f32 as built with GGML_GELU_FP16 (the CPU default): x <= -10 -> 0, x >= 10 -> x,
 * else x rounded to half, GELU(tanh) of that in float looked up and rounded to half, times u.
 */
export function gegluGgml(
  g: Float32Array,
  go: number,
  u: Float32Array,
  uo: number,
  h: Float32Array,
  ho: number,
  n: number,
): void {
  for (let i = 0; i < n; i++) {
    const x = g[go + i];
    let y: number;
    if (x <= -10) y = 0;
    else if (x >= 10) y = x;
    else y = fp16ToF32(f32ToFp16(geluTanh(fp16ToF32(f32ToFp16(x)))));
    h[ho + i] = f(y * u[uo + i]);
  }
}
