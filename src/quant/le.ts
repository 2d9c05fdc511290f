/** Little-endian field access inside block byte arrays (GGUF and ggml blocks are little-endian). */

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

export function readI8(b: Uint8Array, o: number): number {
  return (b[o] << 24) >> 24;
}

export function readU32(b: Uint8Array, o: number): number {
  return (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;
}

export function writeU32(b: Uint8Array, o: number, v: number): void {
  b[o] = v & 0xff;
  b[o + 1] = (v >>> 8) & 0xff;
  b[o + 2] = (v >>> 16) & 0xff;
  b[o + 3] = (v >>> 24) & 0xff;
}

export function readI16(b: Uint8Array, o: number): number {
  return ((b[o] | (b[o + 1] << 8)) << 16) >> 16;
}

export function writeI16(b: Uint8Array, o: number, v: number): void {
  b[o] = v & 0xff;
  b[o + 1] = (v >>> 8) & 0xff;
}

export function readF32(b: Uint8Array, o: number): number {
  u32[0] = readU32(b, o);
  return f32[0];
}

export function writeF32(b: Uint8Array, o: number, v: number): void {
  f32[0] = v;
  writeU32(b, o, u32[0]);
}
