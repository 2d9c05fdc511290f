// Shared by scripts/kernel-hash.mjs (bit identity) and scripts/kernel-ab.mjs (speed): the
// exported kernels' signatures as declared in kernels-src/assembly, and seeded benign input bytes
// (every 32-bit word a finite f32 in roughly +-[1/16, 8), every 16-bit half a finite fp16).
import fs from "node:fs";
import path from "node:path";

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");

/** name -> [{ name, type }] from `export function NAME(params)` in the kernel sources. */
export function kernelSignatures() {
  const src = path.join(ROOT, "kernels-src", "assembly");
  const sigs = new Map();
  for (const f of fs.readdirSync(src).filter((f) => f.endsWith(".ts"))) {
    const text = fs.readFileSync(path.join(src, f), "utf8");
    for (const m of text.matchAll(/^export function (\w+)\(([^)]*)\)/gm)) {
      const params = m[2]
        .split(",")
        .map((p) => p.trim())
        .filter((p) => p.length > 0)
        .map((p) => {
          const [name, type] = p.split(":").map((s) => s.trim());
          return { name, type };
        });
      sigs.set(m[1], params);
    }
  }
  return sigs;
}

function xorshift(seed) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}

/** n bytes (a multiple of 4) from stream `seed`: f32 exponent 123..130 (top five exponent bits
 *  01111/10000, so the high fp16 half is finite), low half's fp16 exponent bits forced into
 *  12..17. */
export function benignBytes(seed, n) {
  const rnd = xorshift(0x9e3779b9 ^ Math.imul(seed, 0x85ebca6b));
  const w = new Uint32Array(n / 4);
  for (let j = 0; j < w.length; j++) {
    const r = rnd();
    const sign = r & 0x80000000;
    const exp = 123 + (r >>> 28) % 8;
    const mant = rnd() & 0x7fffff;
    let word = (sign | (exp << 23) | mant) >>> 0;
    const lowExp = 12 + ((r >>> 8) % 6);
    word = ((word & ~(0x1f << 10)) | (lowExp << 10)) >>> 0;
    w[j] = word;
  }
  return new Uint8Array(w.buffer);
}

