// Per quantized weight type, the speed of every kernel variant the engine can run for it, in one
// process: `node --experimental-wasm-relaxed-simd --no-liftoff scripts/quant-variants.mjs [DIR]
// [--rounds N] [--types q4_0,q4_k] [--tokens T] [--rows R]`. DIR (default build/kernels) holds the three
// builds; the variants are the SIMD128 build's i16 kernel (matvec_q4_k), the relaxed build's i16
// kernel (fused multiply-add) and int8 kernel (matvec_q4_k_r), and the DOT32 build's int8 kernel.
// All instances share one memory and the same seeded activations; each variant reads its own copy
// of the weights (R x 4096, default 4096; R = 11008 makes the four copies 4 x 25-48 MB, past a
// 32 MB L3, so a matvec streams its weights from DRAM as in decoding a large model); T = 16 tokens
// for matmul, one thread; each round times every variant once, in an order rotated per
// round, so a drift of the machine's speed hits all alike. Prints per type and op the median and
// best ms of each variant and the median of the per-round ratios to the SIMD128 i16 kernel
// (< 1 = faster). Speed does not depend on the weights' values; results are not checked here
// (scripts/kernel-hash.mjs and test/kernels do that).
import fs from "node:fs";
import path from "node:path";
import { loadavg } from "node:os";
import { median, rotRounds } from "./ab-rounds.mjs";
import { benignBytes, kernelSignatures } from "./kernel-exports.mjs";

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(name);
  return i >= 0 ? args.splice(i, 2)[1] : def;
};
const rounds = Number(opt("--rounds", "21"));
const types = opt("--types", "q4_0,q4_k,q5_k,q6_k,q8_0").split(",");
const nTok = Number(opt("--tokens", "16"));
const ROWS = Number(opt("--rows", "4096"));
const dir = args[0] ?? "build/kernels";

const COLS = 4096;
const W_BYTES = ROWS * COLS * 1.25; // more than any quantized layout needs (Q8_0: 1.0625 B/weight)
const SMALL = 4 << 20;
const BASE = 65536;
const N_W = 4; // one weight copy per variant
const SMALL_BASE = BASE + N_W * W_BYTES;
const pages = Math.ceil((SMALL_BASE + 8 * SMALL) / 65536);
const memory = new WebAssembly.Memory({ initial: pages, maximum: 65536, shared: true });
const mem = new Uint8Array(memory.buffer);
const w0 = benignBytes(1, W_BYTES);
for (let i = 0; i < N_W; i++) mem.set(w0, BASE + i * W_BYTES);
for (let i = 0; i < 8; i++) mem.set(benignBytes(2 + i, SMALL), SMALL_BASE + i * SMALL);

const inst = (f) => {
  const e = new WebAssembly.Instance(new WebAssembly.Module(fs.readFileSync(path.join(dir, f))), {
    env: { memory },
  }).exports;
  e.init_consts();
  return e;
};
const builds = {
  simd128: inst("kernels.wasm"),
  relaxed: inst("kernels-relaxed.wasm"),
  dot32: inst("kernels-relaxed-dot32.wasm"),
};
const VARIANTS = [
  ["simd128 i16", "simd128", ""],
  ["relaxed i16", "relaxed", ""],
  ["relaxed int8", "relaxed", "_r"],
  ["dot32 int8", "dot32", "_r"],
];

const sigs = kernelSignatures();
const value = { rows: ROWS, cols: COLS, nb: COLS / 32, nsb: COLS / 256, nTok, g0: 0, g1: ROWS / 4 };
const call = (name, f, wp) => {
  const sig = sigs.get(name);
  if (!sig) throw new Error(`${name}: no signature in kernels-src/assembly`);
  let small = 0;
  const a = sig.map((p) => {
    if (p.name === "w") return wp;
    if (p.type === "usize") return SMALL_BASE + small++ * SMALL;
    if (!(p.name in value)) throw new Error(`${name}: no value for ${p.name}`);
    return value[p.name];
  });
  return () => {
    const t0 = performance.now();
    f(...a);
    return performance.now() - t0;
  };
};

console.log(`${dir}: ${rounds} rounds, ${ROWS}x${COLS}, matmul ${nTok} tokens, 1 thread, rotated order`);
console.log(
  "| kernel | " +
    VARIANTS.map(([v]) => `${v} median ms (best)`).join(" | ") +
    " | ratios to simd128 i16 (median of rounds) |",
);
console.log("|---|" + VARIANTS.map(() => "---|").join("") + "---|");
for (const t of types) {
  for (const op of ["matvec", "matmul"]) {
    const vs = VARIANTS.map(([label, b, suf], i) => {
      const name = `${op}_${t}${suf}`;
      const f = builds[b][name];
      return f ? { label, fn: call(name, f, BASE + i * W_BYTES) } : null;
    }).filter((v) => v);
    for (let i = 0; i < 3; i++) for (const v of vs) v.fn(); // warm-up (tier-up)
    const { costs, ratio } = rotRounds(
      rounds,
      vs.map((v) => v.fn),
    );
    const cells = VARIANTS.map(([label]) => {
      const j = vs.findIndex((v) => v.label === label);
      return j < 0 ? "-" : `${median(costs[j]).toFixed(3)} (${Math.min(...costs[j]).toFixed(3)})`;
    });
    const rs = vs.slice(1).map((v, k) => `${v.label} ${median(ratio[k + 1]).toFixed(3)}`);
    console.log(`| ${op}_${t} | ${cells.join(" | ")} | ${rs.join(", ")} |`);
  }
}
console.log(
  `load average ${loadavg()
    .map((x) => x.toFixed(1))
    .join(" ")}`,
);
