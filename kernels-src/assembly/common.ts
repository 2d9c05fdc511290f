// Shared inline helpers for the kernels. No static data here (data segments would be re-copied
// into the shared memory by every instance): vector constants live in the KC table below, written
// by init_consts at instantiation.

/** Byte address of the constant table in page 0 (which the arena leaves to the module): the
 *  loader calls `init_consts` once after instantiation. Kernels read their vector constants with
 *  one load where they use them (`kc*` below): TurboFan rematerializes a splat or v128.const at
 *  every use inside a loop (2-3 ALU ops) and spills hoisted ones, while a load is a single
 *  load-port op that does not compete with the arithmetic. */
export const KC: usize = 512;
export function init_consts(): void {
  v128.store(KC, i8x16.splat(0x0f));
  v128.store(KC, i32x4.splat(0x8fffe000), 16);
  v128.store(KC, i32x4.splat(0x77800000), 32);
  v128.store(KC, i16x8.splat(1), 48);
  v128.store(KC, i8x16.splat(0x10), 64);
  v128.store(KC, i8x16.splat(0x30), 80);
  v128.store(KC, i8x16.splat(0x03), 96);
  v128.store(KC, i16x8.splat(0x0f), 112);
  v128.store(KC, i16x8.splat(0x10), 128);
  // exp4 (ops.ts): clamp bounds, log2(e), ln2 split, Taylor coefficients 1/720 .. 1/2, 1
  v128.store(KC, f32x4.splat(88), 144);
  v128.store(KC, f32x4.splat(-87), 160);
  v128.store(KC, f32x4.splat(1.4426950408889634), 176);
  v128.store(KC, f32x4.splat(0.693145751953125), 192);
  v128.store(KC, f32x4.splat(1.428606765330187e-6), 208);
  v128.store(KC, f32x4.splat(<f32>(1.0 / 720)), 224);
  v128.store(KC, f32x4.splat(<f32>(1.0 / 120)), 240);
  v128.store(KC, f32x4.splat(<f32>(1.0 / 24)), 256);
  v128.store(KC, f32x4.splat(<f32>(1.0 / 6)), 272);
  v128.store(KC, f32x4.splat(0.5), 288);
  v128.store(KC, f32x4.splat(1), 304);
  v128.store(KC, i32x4.splat(127), 320);
  v128.store(KC, i32x4.splat(0x80000000), 336); // f32 sign bits (quantize.ts roundAway4)
}
// @ts-ignore: decorator
@inline export function kcNib(): v128 { return v128.load(KC); }
// @ts-ignore: decorator
@inline export function kcF16Mask(): v128 { return v128.load(KC, 16); }
// @ts-ignore: decorator
@inline export function kcF16Scale(): v128 { return v128.load(KC, 32); }
// @ts-ignore: decorator
@inline export function kcB4(): v128 { return v128.load(KC, 64); }
// @ts-ignore: decorator
@inline export function kcNib16(): v128 { return v128.load(KC, 112); }
// @ts-ignore: decorator
@inline export function kcB416(): v128 { return v128.load(KC, 128); }

/** The two constants f16x4 needs (see there), from the KC table; the argument is unused (kept
 *  so the many call sites did not change). */
// @ts-ignore: decorator
@inline export function f16Mask(_unused: i32): v128 {
  return kcF16Mask();
}
// @ts-ignore: decorator
@inline export function f16Scale(_unused: i32): v128 {
  return kcF16Scale(); // 2^112 as f32 bits
}

/** Four IEEE fp16 values at ptr (8 bytes) -> f32x4. Sign-extending to i32 and shifting left 13
 *  puts the sign in bit 31 and exponent+mantissa in bits 13..27; the mask (0x8fffe000) drops the
 *  other sign copies and the scale 2^112 rebiases the exponent (15 -> 127). Exact for normals,
 *  subnormals and zero; inf/NaN come out as large finite values (never in sane GGUF scales). */
// @ts-ignore: decorator
@inline export function f16x4(ptr: usize, mask: v128, scale: v128): v128 {
  return f32x4.mul(v128.and(i32x4.shl(v128.load16x4_s(ptr), 13), mask), scale);
}

/** Four u8 at ptr -> i32x4 (zero-extended). */
// @ts-ignore: decorator
@inline export function u8x4(ptr: usize): v128 {
  return i32x4.extend_low_i16x8_u(i16x8.extend_low_i8x16_u(v128.load32_zero(ptr)));
}

/** Four i8 at ptr -> i32x4 (sign-extended). */
// @ts-ignore: decorator
@inline export function i8x4(ptr: usize): v128 {
  return i32x4.extend_low_i16x8_s(i16x8.extend_low_i8x16_s(v128.load32_zero(ptr)));
}

/** Scalar f32 -> fp16 bits, round to nearest even (as ggml's GGML_FP32_TO_FP16). */
export function f32ToF16(f: f32): i32 {
  const x = reinterpret<u32>(f);
  const sign = (x >> 16) & 0x8000;
  const e = <i32>((x >> 23) & 0xff);
  let m = x & 0x7fffff;
  if (e == 255) return sign | 0x7c00 | (m != 0 ? 0x200 : 0);
  let exp = e - 127 + 15;
  if (exp >= 31) return sign | 0x7c00;
  if (exp <= 0) {
    if (exp < -10) return sign;
    m |= 0x800000;
    const shift = <u32>(14 - exp);
    const half = <u32>1 << (shift - 1);
    const rest = m & ((half << 1) - 1);
    let hm = m >> shift;
    if (rest > half || (rest == half && (hm & 1) != 0)) hm++;
    return sign | hm;
  }
  let hm = m >> 13;
  const rest = m & 0x1fff;
  let r = (<u32>exp << 10) | hm;
  if (rest > 0x1000 || (rest == 0x1000 && (hm & 1) != 0)) r++; // may carry into exponent: correct
  return sign | r;
}

/** Scalar fp16 bits -> f32. */
export function f16ToF32(h: i32): f32 {
  const sign = <u32>(h & 0x8000) << 16;
  const e = (h >> 10) & 0x1f;
  const m = <u32>(h & 0x3ff);
  if (e == 0x1f) return reinterpret<f32>(sign | 0x7f800000 | (m << 13));
  const mag = reinterpret<f32>((<u32>(h & 0x7fff)) << 13) * reinterpret<f32>(0x77800000);
  return reinterpret<f32>(reinterpret<u32>(mag) | sign);
}

/** Horizontal sum of an f32x4. */
// @ts-ignore: decorator
@inline export function hsum(v: v128): f32 {
  return f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) + (f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3));
}

/** Store the four row results of a 4-row group, writing only rows < rows (tail group). */
// @ts-ignore: decorator
@inline export function storeRows(y: usize, g: i32, rows: i32, acc: v128): void {
  const r0 = g << 2;
  const p = y + (<usize>r0 << 2);
  if (r0 + 4 <= rows) {
    v128.store(p, acc);
  } else {
    store<f32>(p, f32x4.extract_lane(acc, 0));
    if (r0 + 1 < rows) store<f32>(p, f32x4.extract_lane(acc, 1), 4);
    if (r0 + 2 < rows) store<f32>(p, f32x4.extract_lane(acc, 2), 8);
  }
}

/** storeRows of group g for 4 consecutive tokens (a0..a3), whose outputs are ys bytes apart
 *  from y (the 4-token pass of every matmul). */
// @ts-ignore: decorator
@inline export function storeTok4(y: usize, ys: usize, g: i32, rows: i32, a0: v128, a1: v128, a2: v128, a3: v128): void {
  storeRows(y, g, rows, a0);
  storeRows(y + ys, g, rows, a1);
  storeRows(y + 2 * ys, g, rows, a2);
  storeRows(y + 3 * ys, g, rows, a3);
}

/** storeRows of the 4 consecutive groups g..g+3 (acc0..acc3: the 4-group pass of a matvec). */
// @ts-ignore: decorator
@inline export function storeGroups4(y: usize, g: i32, rows: i32, acc0: v128, acc1: v128, acc2: v128, acc3: v128): void {
  storeRows(y, g + 0, rows, acc0);
  storeRows(y, g + 1, rows, acc1);
  storeRows(y, g + 2, rows, acc2);
  storeRows(y, g + 3, rows, acc3);
}

/** y[rows of group g] += acc * s (product and sum each rounded to f32), writing only rows < rows
 *  (tail group): how a LoRA delta joins the base product's output (lora.ts). */
// @ts-ignore: decorator
@inline export function addRows(y: usize, g: i32, rows: i32, acc: v128, s: v128): void {
  const r0 = g << 2;
  const p = y + (<usize>r0 << 2);
  const d = f32x4.mul(acc, s);
  if (r0 + 4 <= rows) {
    v128.store(p, f32x4.add(v128.load(p), d));
  } else {
    store<f32>(p, load<f32>(p) + f32x4.extract_lane(d, 0));
    if (r0 + 1 < rows) store<f32>(p, load<f32>(p, 4) + f32x4.extract_lane(d, 1), 4);
    if (r0 + 2 < rows) store<f32>(p, load<f32>(p, 8) + f32x4.extract_lane(d, 2), 8);
  }
}

/** c + a*b on f32x4. In the relaxed-SIMD build (build/kernels/kernels-relaxed.wasm, compiled with
 *  `--enable relaxed-simd`) this is `f32x4.relaxed_madd`: one fused multiply-add where the engine
 *  has FMA (rounded once instead of twice; still the same order of operations, so results stay
 *  independent of the thread split). The plain SIMD128 build keeps the separate mul and add. */
// @ts-ignore: decorator
@inline export function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(c, f32x4.mul(a, b));
}

/** acc + f32(si) * (dw * dx): one block's exact integer dot per row (si, i32x4) joins the row
 *  accumulator, scaled by the 4 rows' weight scales dw and the activation's scale dx (the
 *  scale product rounded to f32 first, then madd). The float step of every quantized kernel. */
// @ts-ignore: decorator
@inline export function blockMadd(acc: v128, si: v128, dw: v128, dx: v128): v128 {
  return madd(f32x4.convert_i32x4_s(si), f32x4.mul(dw, dx), acc);
}

/** acc - f32(summ) * (dm * dx): the K-quant mins term of a super-block (summ = sum_j m_j *
 *  xsum_j per row, dm the rows' min scales), in ggml's order (after the blockMadd of its dot). */
// @ts-ignore: decorator
@inline export function blockMsub(acc: v128, summ: v128, dm: v128, dx: v128): v128 {
  return f32x4.sub(acc, f32x4.mul(f32x4.convert_i32x4_s(summ), f32x4.mul(dm, dx)));
}

/** acc + the int8 dot of x (signed) and w (0..127) per i32 lane (4 bytes each). In the relaxed
 *  build this is `i32x4.relaxed_dot_i8x16_i7x16_add_s` (exact while w <= 127: x86 computes it
 *  with pmaddubsw, whose i16 pair sums cannot saturate then, ARM with sdot). SIMD128: the same
 *  integer result from two i16 pair dots (used only by tests of the dot8 layouts). */
// @ts-ignore: decorator
@inline export function dot8(x: v128, w: v128, acc: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return i32x4.relaxed_dot_i8x16_i7x16_add_s(x, w, acc);
  const lo = i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(x), i16x8.extend_low_i8x16_u(w));
  const hi = i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(x), i16x8.extend_high_i8x16_u(w));
  return i32x4.add(acc, i32x4.add(v128.shuffle<i32>(lo, hi, 0, 2, 4, 6), v128.shuffle<i32>(lo, hi, 1, 3, 5, 7)));
}

/** The int8 dot's i16 pair sums: lane l = x[2l]*w[2l] + x[2l+1]*w[2l+1] (x signed, w 0..127;
 *  |lane| <= 2*128*127 = 32512, exact). Relaxed build: `i16x8.relaxed_dot_i8x16_i7x16_s`, one
 *  pmaddubsw on x86 (the i32 `dot8` above is pmaddubsw + a ones constant + pmaddwd + paddd on
 *  engines without AVX-VNNI lowering, e.g. V8 11 / Node 20). Kernels add several of these in
 *  i16 while the bound allows (nibble weights: 8 per sum) and widen once with `widen8`. */
// @ts-ignore: decorator
@inline export function dot8h(x: v128, w: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return i16x8.relaxed_dot_i8x16_i7x16_s(x, w);
  const xe = i16x8.shr_s(i16x8.shl(x, 8), 8);
  const xo = i16x8.shr_s(x, 8);
  const we = v128.and(w, i16x8.splat(0xff));
  const wo = i16x8.shr_u(w, 8);
  return i16x8.add(i16x8.mul(xe, we), i16x8.mul(xo, wo));
}

/** i16 pair sums (dot8h) to i32 per 4-byte group: lane r = h[2r] + h[2r+1] (pmaddwd by ones). */
// @ts-ignore: decorator
@inline export function widen8(h: v128): v128 {
  return i32x4.extadd_pairwise_i16x8_s(h);
}

/** The int8 dot of signed weights w (|w| <= 127) with an activation given as |q| (xa, 0..127)
 *  and sign masks mk (0 or -1 per byte): (w ^ mk) - mk moves the activation's sign onto the
 *  weight, so |q| is the 7-bit operand; the pair sums (<= 2*127*127) are widened at once.
 *  Q8_0 and the table-lookup 4-bit formats (iq4.ts) on the int8 dot. */
// @ts-ignore: decorator
@inline export function signDot(w: v128, mk: v128, xa: v128): v128 {
  return widen8(dot8h(i8x16.sub(v128.xor(w, mk), mk), xa));
}

/** Fifth bits of chunk m (b = m & 3) from the pair's qh vector h, for the low (sub-block 2k)
 *  or high (2k+1) nibbles; byte masks b4 = 0x10, i16 shifts never carry a kept bit across
 *  bytes (see q4_k.ts). Q5_K (dot8.ts) and Q5_0/Q5_1 (q4x8.ts) on the int8 dot. */
// @ts-ignore: decorator
@inline export function fifth(h: v128, b: i32, high: bool, b4: v128): v128 {
  return high ? v128.and(i16x8.shr_u(h, b), b4) : v128.and(i16x8.shl(h, 4 - b), b4);
}

/** The int8-dot accumulation the dot8 kernels use, in two forms chosen at build time
 *  (kernels-src/build.mjs, `--use DOT32=0|1`):
 *  - DOT32 = 0: i16 pair sums, acc + dot8h(x, w) (pmaddubsw + paddw on x86); the kernel keeps
 *    at most as many steps in one accumulator as the i16 bound allows and widens with fin8.
 *  - DOT32 = 1: i32 lanes, `i32x4.relaxed_dot_i8x16_i7x16_add_s` (one vpdpbusd where V8 lowers
 *    it to AVX-VNNI, Node >= 22 / current Chrome; sdot on ARM); fin8 is the identity.
 *  Both give the same exact integer per 4-byte group, so results are identical. */
// @ts-ignore: decorator
@inline export function acc8(x: v128, w: v128, acc: v128): v128 {
  if (DOT32) return i32x4.relaxed_dot_i8x16_i7x16_add_s(x, w, acc);
  return i16x8.add(acc, dot8h(x, w));
}
/** The first step of an acc8 accumulation (no zero accumulator to add in the i16 form). */
// @ts-ignore: decorator
@inline export function dot8s(x: v128, w: v128): v128 {
  if (DOT32) return i32x4.relaxed_dot_i8x16_i7x16_add_s(x, w, i32x4.splat(0));
  return dot8h(x, w);
}
// @ts-ignore: decorator
@inline export function fin8(acc: v128): v128 {
  if (DOT32) return acc;
  return widen8(acc);
}

/** f32 lanes -> i32 by truncation, for values known to be in range (not NaN, |v| < 2^31): the
 *  relaxed build's `i32x4.relaxed_trunc_f32x4_s` is one cvttps2dq, where trunc_sat's NaN and
 *  saturation handling costs V8 six instructions. Same results for in-range lanes. */
// @ts-ignore: decorator
@inline export function truncI32(v: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return i32x4.relaxed_trunc_f32x4_s(v);
  return i32x4.trunc_sat_f32x4_s(v);
}
