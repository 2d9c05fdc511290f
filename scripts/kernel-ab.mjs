// Speed of two builds of the same kernel file, A/B in one process, for refactors that must not
// slow anything: `node --experimental-wasm-relaxed-simd --no-liftoff scripts/kernel-ab.mjs
// A.wasm B.wasm [--rounds N] [--only REGEX] [--tokens T] [--rows R]`. Both builds are instantiated
// on one shared memory and every matvec_* / matmul_* export they both have is called on the same
// seeded inputs (R x 4096 weights, default R = 4096, each build reading its own copy, so that with
// R = 11008 a quantized matvec streams from DRAM as in decoding; T = 16 tokens for matmul, one
// thread), alternating
// A B B A per round so that a drift of the machine's speed hits both alike. Prints per kernel the
// median and best ms of each build and the median of the per-round ratios B/A, then the median
// over kernels. Weights are benign random bytes in each format's layout size (speed does not
// depend on their values); what is computed is not checked here (scripts/kernel-hash.mjs does).
import fs from "node:fs";
import { loadavg } from "node:os";
import { abRounds, median } from "./ab-rounds.mjs";
import { benignBytes, kernelSignatures } from "./kernel-exports.mjs";

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(name);
  return i >= 0 ? args.splice(i, 2)[1] : def;
};
const rounds = Number(opt("--rounds", "15"));
const only = new RegExp(opt("--only", "."));
const nTok = Number(opt("--tokens", "16"));
const ROWS = Number(opt("--rows", "4096"));
const [fileA, fileB] = args;
if (!fileA || !fileB) {
  console.error("usage: kernel-ab.mjs A.wasm B.wasm [--rounds N] [--only REGEX] [--tokens T] [--rows R]");
  process.exit(2);
}

const COLS = 4096;
const W_BYTES = ROWS * COLS * 4; // the largest layout (F32)
const SMALL = 4 << 20;
const BASE = 65536;
const BASE_B = BASE + W_BYTES;
const SMALL_BASE = BASE_B + W_BYTES;
// regions: A's w, B's w (the same bytes), then up to 8 small ones (activations, scales, sums, output)
const pages = Math.ceil((SMALL_BASE + 8 * SMALL) / 65536);
const memory = new WebAssembly.Memory({ initial: pages, maximum: 65536, shared: true });
const mem = new Uint8Array(memory.buffer);
const w0 = benignBytes(1, W_BYTES);
mem.set(w0, BASE);
mem.set(w0, BASE_B);
for (let i = 0; i < 8; i++) mem.set(benignBytes(2 + i, SMALL), SMALL_BASE + i * SMALL);

const inst = (f) =>
  new WebAssembly.Instance(new WebAssembly.Module(fs.readFileSync(f)), { env: { memory } }).exports;
const A = inst(fileA);
const B = inst(fileB);
A.init_consts();
B.init_consts();

const sigs = kernelSignatures();
const value = {
  rows: ROWS,
  cols: COLS,
  nb: COLS / 32,
  nsb: COLS / 256,
  nTok,
  g0: 0,
  g1: ROWS / 4,
};
const names = Object.keys(A)
  .filter((n) => /^mat(vec|mul)_/.test(n) && typeof B[n] === "function" && only.test(n))
  .sort();

const rows = [];
const ratios = [];
for (const name of names) {
  const sig = sigs.get(name);
  if (!sig) throw new Error(`${name}: no signature in kernels-src/assembly`);
  const callArgs = (wp) => {
    let small = 0;
    return sig.map((p) => {
      if (p.name === "w") return wp;
      if (p.type === "usize") return SMALL_BASE + small++ * SMALL;
      if (!(p.name in value)) throw new Error(`${name}: no value for ${p.name}`);
      return value[p.name];
    });
  };
  const argsA = callArgs(BASE);
  const argsB = callArgs(BASE_B);
  const fa = A[name];
  const fb = B[name];
  const time = (f, a) => {
    const t0 = performance.now();
    f(...a);
    return performance.now() - t0;
  };
  for (let i = 0; i < 3; i++) (time(fa, argsA), time(fb, argsB)); // warm-up (tier-up)
  const {
    ta,
    tb,
    ratio: r,
  } = abRounds(
    rounds,
    () => time(fa, argsA),
    () => time(fb, argsB),
  );
  const ratio = median(r);
  ratios.push(ratio);
  rows.push(
    `| ${name} | ${median(ta).toFixed(3)} | ${Math.min(...ta).toFixed(3)} | ${median(tb).toFixed(3)} | ${Math.min(...tb).toFixed(3)} | ${ratio.toFixed(3)} |`,
  );
}
console.log(`A ${fileA}\nB ${fileB}\n${rounds} rounds, ${ROWS}x${COLS}, matmul ${nTok} tokens, 1 thread`);
console.log("| kernel | A median ms | A best | B median ms | B best | B/A median of rounds |");
console.log("|---|---|---|---|---|---|");
console.log(rows.join("\n"));
console.log(
  `median over ${ratios.length} kernels of B/A: ${median(ratios).toFixed(3)} (min ${Math.min(...ratios).toFixed(3)}, max ${Math.max(...ratios).toFixed(3)}); load average ${loadavg()
    .map((x) => x.toFixed(1))
    .join(" ")}`,
);
