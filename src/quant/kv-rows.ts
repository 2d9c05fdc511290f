/**
 * Row formats of the KV cache: F32, F16 (IEEE half bits) and llama.cpp's block formats Q8_0
 * (34 bytes per 32 values: f16 scale + 32 int8) and Q4_0 (18 bytes per 32: f16 scale + 16 bytes
 * of nibbles), the layouts `--cache-type-k/-v q8_0|q4_0` store. A row (one position of one
 * layer, all KV heads) is `width` values; quantized rows are `width / 32` blocks, so a head of hd
 * values (hd a multiple of 32) is hd / 32 whole blocks at byte offset kh * hd / 32 * blockBytes.
 *
 * (src/kv/quant-kv.ts allocates the stores; the codecs live here, below kernels/ and kv/, because the
 * plain-TS reference attention in kernels/ref reads the same rows.)
 * Storage per layer is one typed array over nRows rows: Float32Array (f32), Uint16Array (f16),
 * Uint8Array (q8_0/q4_0), ideally a view of a KernelSet's memory (kernels read it in place).
 * Writes quantize as llama.cpp's CPU backend does on x86 (set_rows -> from_float: the AVX Q8_0
 * quantizer, ggml's reference Q4_0 quantizer), so a restored or shifted row is byte-exact.
 */
import { InputError } from "../errors.js";
import { fp16Table, fp32ToFp16, writeF16 } from "./f16.js";
import { dequantizeRowQ4_0, quantizeRowQ4_0, Q4_0_BYTES } from "./q4_0.js";
import { dequantizeRowQ8_0, Q8_0_BYTES } from "./q8_0.js";

export type KVType = "f32" | "f16" | "q8_0" | "q4_0";
export const KV_TYPES: readonly KVType[] = ["f32", "f16", "q8_0", "q4_0"];
export type KVStore = Float32Array | Uint16Array | Uint8Array;

const QK = 32;
const HALF = fp16Table();

export function isKVType(s: string): s is KVType {
  return (KV_TYPES as readonly string[]).includes(s);
}

/** Parse a CLI/API KV type ("q8_0", "Q8_0", "f16"...), or throw a typed error naming `field`. */
export function parseKVType(s: string, field = "kv-type"): KVType {
  const t = s.toLowerCase();
  if (!isKVType(t))
    throw new InputError(`${field} must be one of ${KV_TYPES.join(", ")}, got '${s}'`, { field });
  return t;
}

export function isQuantizedKV(t: KVType): boolean {
  return t === "q8_0" || t === "q4_0";
}

/** Bytes of one row of `width` values. */
export function kvRowBytes(t: KVType, width: number): number {
  switch (t) {
    case "f32":
      return 4 * width;
    case "f16":
      return 2 * width;
    case "q8_0":
      return (width / QK) * Q8_0_BYTES;
    case "q4_0":
      return (width / QK) * Q4_0_BYTES;
  }
}

/** Array elements of one row (floats, halves or bytes). */
export function kvRowElems(t: KVType, width: number): number {
  return t === "f32" || t === "f16" ? width : kvRowBytes(t, width);
}

/** Throws unless a head of `headDim` values can be stored as `t` (quantized: whole 32-blocks per head). */
export function checkKVType(t: KVType, headDim: number, what = "KV cache"): void {
  if (isQuantizedKV(t) && headDim % QK !== 0)
    throw new InputError(`${what} type ${t} needs a head size that is a multiple of 32, got ${headDim}`, {
      hint: "use f16 or f32 for this model",
    });
}

/** Write row `row` (width values from src[so..]) in format t. */
export function storeRow(
  t: KVType,
  dst: KVStore,
  row: number,
  width: number,
  src: Float32Array,
  so: number,
): void {
  const o = row * kvRowElems(t, width);
  switch (t) {
    case "f32":
      (dst as Float32Array).set(src.subarray(so, so + width), o);
      return;
    case "f16":
      for (let i = 0; i < width; i++) dst[o + i] = fp32ToFp16(src[so + i]);
      return;
    case "q8_0":
      quantizeRowQ8_0Avx(src, so, dst as Uint8Array, o, width);
      return;
    case "q4_0":
      quantizeRowQ4_0(src, so, dst as Uint8Array, o, width);
      return;
  }
}

/**
 * dst[dOff + i] = value (off + i) of row `row`, i < n. Quantized rows dequantize the 32-blocks
 * covering [off, off + n) (exactly as ggml's to_float does).
 */
export function loadRow(
  t: KVType,
  src: KVStore,
  row: number,
  width: number,
  off: number,
  dst: Float32Array,
  dOff: number,
  n: number,
): void {
  const o = row * kvRowElems(t, width);
  if (t === "f32") {
    dst.set((src as Float32Array).subarray(o + off, o + off + n), dOff);
    return;
  }
  if (t === "f16") {
    for (let i = 0; i < n; i++) dst[dOff + i] = HALF[src[o + off + i]];
    return;
  }
  const b0 = Math.floor(off / QK);
  const b1 = Math.ceil((off + n) / QK);
  const bb = t === "q8_0" ? Q8_0_BYTES : Q4_0_BYTES;
  const aligned = off % QK === 0 && n % QK === 0;
  const tmp = aligned ? dst : scratch((b1 - b0) * QK);
  const to = aligned ? dOff : 0;
  if (t === "q8_0") dequantizeRowQ8_0(src as Uint8Array, o + b0 * bb, tmp, to, (b1 - b0) * QK);
  else dequantizeRowQ4_0(src as Uint8Array, o + b0 * bb, tmp, to, (b1 - b0) * QK);
  if (!aligned) for (let i = 0; i < n; i++) dst[dOff + i] = tmp[off - b0 * QK + i];
}

/**
 * Q8_0 as llama.cpp's CPU backend writes K/V rows on x86 (set_rows -> from_float = the AVX
 * quantize_row_q8_0): d = amax/127 stored as f16, multiplier 127/amax, round half to even. Also
 * what ggml's flash attention applies to q before integer K dots.
 */
export function quantizeRowQ8_0Avx(
  src: Float32Array,
  so: number,
  dst: Uint8Array,
  o: number,
  n: number,
): void {
  const f = Math.fround;
  for (let b = 0; b < n / QK; b++) {
    const x = so + b * QK;
    const ob = o + b * Q8_0_BYTES;
    let amax = 0;
    for (let j = 0; j < QK; j++) amax = Math.max(amax, Math.abs(src[x + j]));
    writeF16(dst, ob, f(amax / 127));
    const id = amax !== 0 ? f(127 / amax) : 0;
    for (let j = 0; j < QK; j++) {
      const v = f(src[x + j] * id);
      const r = Math.floor(v);
      const fr = v - r;
      const q = fr > 0.5 || (fr === 0.5 && (r & 1) !== 0) ? r + 1 : r;
      dst[ob + 2 + j] = q & 0xff;
    }
  }
}

let tmpBuf = new Float32Array(256);
function scratch(n: number): Float32Array {
  if (tmpBuf.length < n) tmpBuf = new Float32Array(n);
  return tmpBuf;
}

/** sum_i value(off + i) * q[qo + i] over n values of row `row`. */
export function dotRow(
  t: KVType,
  src: KVStore,
  row: number,
  width: number,
  off: number,
  q: Float32Array,
  qo: number,
  n: number,
): number {
  const o = row * kvRowElems(t, width) + off;
  let s = 0;
  if (t === "f32") for (let i = 0; i < n; i++) s += src[o + i] * q[qo + i];
  else if (t === "f16") for (let i = 0; i < n; i++) s += HALF[src[o + i]] * q[qo + i];
  else {
    const tmp = rowTmp(n);
    loadRow(t, src, row, width, off, tmp, 0, n);
    for (let i = 0; i < n; i++) s += tmp[i] * q[qo + i];
  }
  return s;
}

/** out[oo + i] += w * value(off + i) of row `row`, i < n. */
export function madRow(
  t: KVType,
  src: KVStore,
  row: number,
  width: number,
  off: number,
  w: number,
  out: Float32Array,
  oo: number,
  n: number,
): void {
  const o = row * kvRowElems(t, width) + off;
  if (t === "f32") for (let i = 0; i < n; i++) out[oo + i] += w * src[o + i];
  else if (t === "f16") for (let i = 0; i < n; i++) out[oo + i] += w * HALF[src[o + i]];
  else {
    const tmp = rowTmp(n);
    loadRow(t, src, row, width, off, tmp, 0, n);
    for (let i = 0; i < n; i++) out[oo + i] += w * tmp[i];
  }
}

let rowBuf = new Float32Array(256);
function rowTmp(n: number): Float32Array {
  if (rowBuf.length < n) rowBuf = new Float32Array(n);
  return rowBuf;
}
