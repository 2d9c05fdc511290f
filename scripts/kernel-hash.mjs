// Bit-level fingerprint of every exported kernel, for refactors of kernels-src/ that must not
// change a single output bit: `node --experimental-wasm-relaxed-simd --no-liftoff
// scripts/kernel-hash.mjs [DIR] [--out FILE]` (DIR defaults to build/kernels). --no-liftoff: the
// configuration the loader accepts relaxed builds in (Node 20's baseline compiler, Liftoff,
// computes relaxed_dot_i8x16_i7x16_add_s differently, so its int8 sums depend on the code shape
// and the loader's self-check rejects it); run without it too for the Liftoff-compiled bits. For every kernel*.wasm in DIR, every export
// that kernels-src/assembly declares is called on seeded pseudo-random memory with fixed
// arguments (several configurations where an argument selects a code path: quantizer kind, KV
// formats, f16 cache, window, 4-token/4-group passes plus tails, a partial group range), and the
// SHA-256 of every pointer argument's region after the call is printed, one line per call. Build
// DIR once before and once after a change and compare the outputs with diff: equal lines mean
// equal bits for these inputs.
//
// Inputs: each pointer argument gets its own 512 KiB region, refilled before every call from a
// fixed xorshift stream whose 32-bit words are finite f32 in roughly +-[1/16, 8) and whose 16-bit
// halves are finite fp16 as well (so f32, f16, bf16 and quantized data all see ordinary values,
// not NaN floods). The paged-attention block table and attention_full_f32's zero are the only
// pointer-valued inputs and are filled with valid block indices. A line also counts the bytes
// the call changed (0 would mean the call exercised nothing and fails the run).
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { benignBytes, kernelSignatures } from "./kernel-exports.mjs";

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");
const args = process.argv.slice(2);
const outIdx = args.indexOf("--out");
const outFile = outIdx >= 0 ? args.splice(outIdx, 2)[1] : null;
const dir = path.resolve(args[0] ?? path.join(ROOT, "build", "kernels"));

const REGION = 512 * 1024;
const BASE = 65536; // page 0 holds the constant table (common.ts KC)
const MAX_REGIONS = 24;

const BASE_ARGS = {
  rows: 22, // 6 groups: one 4-group pass, 2 leftover, tail group of 2 rows
  nb: 3,
  nsb: 2,
  cols: 44,
  nTok: 6, // one 4-token pass plus 2 tail tokens
  g0: 0,
  g1: 6,
  t0: 0,
  t1: 6,
  n: 2600,
  u0: 0,
  u1: 3,
  eps: 1e-5,
  s: 0.75,
  scale: 0.125,
  rank: 8,
  vec: 0,
  kind: 0,
  nHead: 4,
  nHeadKV: 2,
  nHeads: 4,
  hd: 64,
  headDim: 64,
  nRot: 64,
  neox: 0,
  nKV: 40,
  pos0: 34,
  blockSize: 16,
  half: 0,
  window: 0,
  tb: 4,
  kFmt: 0,
  vFmt: 0,
  r0: 0,
  r1: 24,
};

/** Configurations per kernel: overrides of BASE_ARGS, one call each. */
function configs(name) {
  if (name === "init_consts") return [];
  if (name === "rms_norm") return [{ n: 64, u1: 6 }];
  if (name === "rms_norm_quant") {
    const out = [];
    for (let kind = 0; kind < 8; kind++) {
      const k = kind === 2 || kind === 5 || kind === 6;
      out.push({ kind, n: 512, nb: k ? 2 : 16, u1: 3 });
    }
    return out;
  }
  if (name.startsWith("round_")) return [{ n: 101 }];
  if (name === "softmax_f32") return [{ n: 67, u1: 5 }];
  if (name === "rope_f32") return [{ neox: 0 }, { neox: 1 }, { nRot: 32, neox: 1 }, { nRot: 32, neox: 0 }];
  if (name === "attention_f32") return [{ u1: 12 }, { u1: 12, pos0: 0, nKV: 6 }];
  if (name === "attention_paged") {
    const out = [];
    for (const half of [0, 1]) for (const window of [0, 8]) for (const tb of [1, 4]) out.push({ half, window, tb, u1: Math.ceil(6 / tb) * 2 });
    out.push({ half: 0, hd: 40, u1: 4 });
    return out;
  }
  if (name === "attention_paged_q") {
    const out = [];
    for (let kFmt = 0; kFmt < 4; kFmt++) for (let vFmt = 0; vFmt < 4; vFmt++) out.push({ kFmt, vFmt, u1: 4 });
    out.push({ kFmt: 2, vFmt: 3, window: 8, tb: 1, u1: 12 });
    return out;
  }
  if (name === "attention_full_f32") return [{ n: 7, u1: 28 }];
  if (name === "attention_sinks") return [{}];
  if (name === "silu_mul" || name === "add_f32") return [{}];
  if (name === "probe_dot8") return [{ n: 5 }];
  if (name === "lora_add_f32") return [{ vec: 0 }, { vec: 1 }];
  if (name.startsWith("quantize_")) return [{ t1: 6 }, { t0: 2, t1: 5 }];
  if (name.startsWith("matvec_") || name.startsWith("matmul_") || name.startsWith("lora_")) return [{}, { g0: 1, g1: 5 }, { g0: 0, g1: 4, rows: 16, nTok: 4 }];
  return [{}];
}

const sigs = kernelSignatures();
const fills = Array.from({ length: MAX_REGIONS }, (_, i) => benignBytes(i, REGION));

function hashBuild(file) {
  const bytes = fs.readFileSync(file);
  const mod = new WebAssembly.Module(bytes);
  const pages = (BASE + MAX_REGIONS * REGION) / 65536 + 1;
  const memory = new WebAssembly.Memory({ initial: pages, maximum: 65536, shared: true });
  const ex = new WebAssembly.Instance(mod, { env: { memory } }).exports;
  ex.init_consts();
  const mem = new Uint8Array(memory.buffer);
  const lines = [];
  const names = WebAssembly.Module.exports(mod)
    .filter((e) => e.kind === "function")
    .map((e) => e.name)
    .sort();
  for (const name of names) {
    const sig = sigs.get(name);
    if (!sig) throw new Error(`${name}: no signature in kernels-src/assembly`);
    const cfgs = configs(name);
    cfgs.forEach((cfg, ci) => {
      const a = { ...BASE_ARGS, ...cfg };
      let region = 0;
      const ptrs = [];
      const callArgs = sig.map((p) => {
        if (p.type === "usize") {
          const at = BASE + region * REGION;
          ptrs.push({ name: p.name, at });
          region++;
          return at;
        }
        if (!(p.name in a)) throw new Error(`${name}: no value for ${p.name}`);
        return a[p.name];
      });
      // refill every region (a previous call may have written anywhere)
      for (let i = 0; i < MAX_REGIONS; i++) mem.set(fills[i], BASE + i * REGION);
      for (const p of ptrs) {
        if (p.name === "table") {
          const t = new Int32Array(memory.buffer, p.at, 64);
          for (let i = 0; i < 64; i++) t[i] = [2, 0, 1][i % 3];
        } else if (p.name === "zero") {
          new Int32Array(memory.buffer, p.at, 64).fill(0);
        }
      }
      const before = ptrs.map((p) => Buffer.from(mem.subarray(p.at, p.at + REGION)));
      ex[name](...callArgs);
      const h = createHash("sha256");
      let changed = 0;
      ptrs.forEach((p, i) => {
        const after = mem.subarray(p.at, p.at + REGION);
        h.update(after);
        const b = before[i];
        for (let j = 0; j < REGION; j++) if (after[j] !== b[j]) changed++;
      });
      lines.push(`${name}\t#${ci}\t${h.digest("hex").slice(0, 16)}\tchanged=${changed}`);
    });
  }
  return lines;
}

const files = fs
  .readdirSync(dir)
  .filter((f) => /^kernels.*\.wasm$/.test(f))
  .sort();
const all = [];
let dead = 0;
for (const f of files) {
  const lines = hashBuild(path.join(dir, f));
  for (const l of lines) {
    all.push(`${f}\t${l}`);
    if (l.endsWith("\tchanged=0")) dead++;
  }
  const total = createHash("sha256").update(lines.join("\n")).digest("hex").slice(0, 16);
  console.log(`${f}: ${lines.length} calls, combined ${total}`);
}
if (outFile) fs.writeFileSync(outFile, all.join("\n") + "\n");
else console.log(all.join("\n"));
if (dead > 0) {
  console.error(`${dead} calls changed no byte: their configuration exercises nothing`);
  process.exitCode = 1;
}
