/**
 * The WASM SIMD training kernels against the plain-TS reference ops (which the gradient checks
 * validate against finite differences): matmul forward / dX / dW and causal GQA attention on odd
 * shapes, the whole model's gradients against the float64 reference model, and the data-parallel
 * shards: 1 thread and 2 threads give bit-identical losses and gradients.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Rng } from "../../src/sampling/rng.js";
import { matmulBackward, matmulForward } from "../../src/train/ops/matmul.js";
import { attentionBackward, attentionForward, type AttnShape } from "../../src/train/ops/attention.js";
import { LlamaTrainModel } from "../../src/train/model/llama.js";
import { initParams } from "../../src/train/model/params.js";
import type { TrainModelConfig } from "../../src/train/model/config.js";
import { compileTrainModule, createTrainMemory, instantiateTrain } from "../../src/train/wasm/module.js";
import { WasmArena } from "../../src/train/wasm/arena.js";
import { wasmKernels } from "../../src/train/wasm/kernels.js";
import { ShardedModel } from "../../src/train/parallel/sharded.js";
import { KernelError } from "../../src/errors.js";

const rng = new Rng(99);
const mod = await compileTrainModule();
const mem = createTrainMemory();
const K = wasmKernels(instantiateTrain(mod, mem), mem);
const arena = new WasmArena(mem, 1024);

/** A WASM-memory buffer and a float64 copy of the same random values. */
function pair(n: number, s = 1): [Float32Array, Float64Array] {
  const w = arena.alloc(n);
  for (let i = 0; i < n; i++) w[i] = rng.normal() * s;
  return [w, Float64Array.from(w)];
}
function maxRel(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let worst = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) scale = Math.max(scale, Math.abs(b[i]));
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]) / Math.max(scale, 1e-30));
  return worst;
}

for (const [N, I, O] of [
  [1, 1, 1],
  [3, 5, 7],
  [7, 13, 9],
  [8, 16, 8],
  [13, 300, 21], // K crosses the 128-row panel block of mm_nn
  [260, 12, 6],
])
  test(`wasm matmul forward, dX, dW match the reference (${N}x${I} @ ${O}x${I}^T)`, () => {
    const [x, x64] = pair(N * I);
    const [w, w64] = pair(O * I);
    const [g, g64] = pair(N * O);
    const y = arena.alloc(N * O);
    const y64 = new Float64Array(N * O);
    K.matmulForward(y, x, w, N, I, O);
    matmulForward(y64, x64, w64, N, I, O);
    assert.ok(maxRel(y, y64) < 1e-5, `forward rel err ${maxRel(y, y64)}`);
    // backward accumulates: start both from the same non-zero values
    const [dx, dx64] = pair(N * I);
    const [dw, dw64] = pair(O * I);
    K.matmulBackward(dx, dw, g, x, w, N, I, O);
    matmulBackward(dx64, dw64, g64, x64, w64, N, I, O);
    assert.ok(maxRel(dx, dx64) < 1e-5, `dX rel err ${maxRel(dx, dx64)}`);
    assert.ok(maxRel(dw, dw64) < 1e-5, `dW rel err ${maxRel(dw, dw64)}`);
  });

for (const s of [
  { B: 1, T: 1, nH: 1, nKV: 1, hd: 4 },
  { B: 2, T: 7, nH: 4, nKV: 2, hd: 8 },
  { B: 3, T: 5, nH: 3, nKV: 1, hd: 12 },
  // blocks of 4 queries with a short last block; head widths with 16-lane chunks and a tail
  { B: 2, T: 37, nH: 4, nKV: 2, hd: 32 },
  { B: 1, T: 9, nH: 2, nKV: 2, hd: 20 },
  { B: 1, T: 16, nH: 3, nKV: 1, hd: 36 },
] as AttnShape[])
  test(`wasm attention forward/backward match the reference (${JSON.stringify(s)})`, () => {
    const N = s.B * s.T;
    const qn = N * s.nH * s.hd;
    const kn = N * s.nKV * s.hd;
    const [q, q64] = pair(qn);
    const [k, k64] = pair(kn);
    const [v, v64] = pair(kn);
    const out = arena.alloc(qn);
    const att = arena.alloc(s.B * s.nH * s.T * s.T);
    const out64 = new Float64Array(qn);
    const att64 = new Float64Array(att.length);
    K.attentionForward(out, att, q, k, v, s);
    attentionForward(out64, att64, q64, k64, v64, s);
    assert.ok(maxRel(out, out64) < 1e-5, `out rel err ${maxRel(out, out64)}`);
    assert.ok(maxRel(att, att64) < 1e-5, `att rel err ${maxRel(att, att64)}`);
    const [dout, dout64] = pair(qn);
    const [dq, dq64] = pair(qn);
    const [dk, dk64] = pair(kn);
    const [dv, dv64] = pair(kn);
    K.attentionBackward(dq, dk, dv, dout, att, q, k, v, s, arena.alloc(4 * s.T));
    attentionBackward(dq64, dk64, dv64, dout64, att64, q64, k64, v64, s, new Float64Array(s.T));
    for (const [n, a, b] of [
      ["dq", dq, dq64],
      ["dk", dk, dk64],
      ["dv", dv, dv64],
    ] as const)
      assert.ok(maxRel(a, b) < 1e-5, `${n} rel err ${maxRel(a, b)}`);
  });

/**
 * The attention kernels' float32 operation order, written out one query at a time with Math.fround
 * after every operation: per-lane partial dot products over hd in steps of 4, reduced as
 * (l0 + l1) + (l2 + l3); softmax with the kernel's exp (x = n ln2 + r, degree-6 Taylor, 2^n), sums in
 * key order; every accumulation in key order, then query order. The kernel must equal it bit for bit
 * (the training recipe's checkpoints and the shipped model's sha256 depend on that order), whatever
 * blocking it uses for speed.
 */
function oneQueryAttention(
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  dout: Float32Array,
  s: AttnShape,
  acc: { dq: Float32Array; dk: Float32Array; dv: Float32Array },
) {
  const f = Math.fround;
  const { B, T, nH, nKV, hd } = s;
  const rep = nH / nKV;
  const scale = f(1 / f(Math.sqrt(hd)));
  const even = (x: number) => {
    const r = Math.round(x);
    return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
  };
  // the kernel's own f32 literals, as written there
  const c = [
    // biome-ignore lint/suspicious/noApproximativeNumericConstant: the kernel's literal, rounded to f32 below
    1.44269504, 0.693145752, 1.42860677e-6, 0.00138888892, 0.00833333377, 0.0416666679, 0.166666672,
  ].map(f);
  const expNeg = (x: number) => {
    if (x < -87) return 0;
    const n = even(f(x * c[0]));
    const r = f(f(x - f(n * c[1])) - f(n * c[2]));
    let p = f(c[4] + f(r * c[3]));
    for (const a of [c[5], c[6], f(0.5), 1, 1]) p = f(a + f(r * p));
    return f(p * 2 ** n);
  };
  const dot = (a: Float32Array, ao: number, b: Float32Array, bo: number) => {
    const l = [0, 0, 0, 0];
    for (let i = 0; i < hd; i += 4)
      for (let j = 0; j < 4; j++) l[j] = f(l[j] + f(a[ao + i + j] * b[bo + i + j]));
    return f(f(l[0] + l[1]) + f(l[2] + l[3]));
  };
  const out = new Float32Array(B * T * nH * hd);
  const att = new Float32Array(B * nH * T * T);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < nH; h++) {
      const kh = Math.floor(h / rep) * hd;
      for (let t = 0; t < T; t++) {
        const qo = (b * T + t) * nH * hd + h * hd;
        const ao = ((b * nH + h) * T + t) * T;
        let mx = -Infinity;
        for (let t2 = 0; t2 <= t; t2++) {
          const d = f(dot(q, qo, k, (b * T + t2) * nKV * hd + kh) * scale);
          att[ao + t2] = d;
          if (d > mx) mx = d;
        }
        let sum = 0;
        for (let t2 = 0; t2 <= t; t2++) sum = f(sum + (att[ao + t2] = expNeg(f(att[ao + t2] - mx))));
        const inv = f(1 / sum);
        for (let t2 = 0; t2 <= t; t2++) att[ao + t2] = f(att[ao + t2] * inv);
        for (let i = 0; i < hd; i++) {
          let a = 0;
          for (let t2 = 0; t2 <= t; t2++) a = f(a + f(att[ao + t2] * v[(b * T + t2) * nKV * hd + kh + i]));
          out[qo + i] = a;
        }
      }
      for (let t = 0; t < T; t++) {
        const qo = (b * T + t) * nH * hd + h * hd;
        const ao = ((b * nH + h) * T + t) * T;
        const datt = new Float32Array(T);
        let dt = 0;
        for (let t2 = 0; t2 <= t; t2++) {
          const vo = (b * T + t2) * nKV * hd + kh;
          for (let i = 0; i < hd; i++) acc.dv[vo + i] = f(acc.dv[vo + i] + f(att[ao + t2] * dout[qo + i]));
          datt[t2] = dot(dout, qo, v, vo);
          dt = f(dt + f(att[ao + t2] * datt[t2]));
        }
        for (let t2 = 0; t2 <= t; t2++) {
          const dpre = f(f(att[ao + t2] * f(datt[t2] - dt)) * scale);
          if (dpre === 0) continue;
          const ko = (b * T + t2) * nKV * hd + kh;
          for (let i = 0; i < hd; i++) {
            acc.dq[qo + i] = f(acc.dq[qo + i] + f(dpre * k[ko + i]));
            acc.dk[ko + i] = f(acc.dk[ko + i] + f(dpre * q[qo + i]));
          }
        }
      }
    }
  return { out, att };
}

for (const s of [
  { B: 1, T: 11, nH: 2, nKV: 1, hd: 8 },
  { B: 2, T: 23, nH: 4, nKV: 2, hd: 32 },
  { B: 1, T: 14, nH: 2, nKV: 2, hd: 20 },
] as AttnShape[])
  test(`wasm attention is bit-identical to the one-query float32 order (${JSON.stringify(s)})`, () => {
    const N = s.B * s.T;
    const qn = N * s.nH * s.hd;
    const kn = N * s.nKV * s.hd;
    // scores spread by tens after scaling: some exponents fall below -87 (exactly 0)
    const [q] = pair(qn, 6);
    const [k] = pair(kn, 6);
    const [v] = pair(kn);
    const [dout] = pair(qn);
    const [dq] = pair(qn);
    const [dk] = pair(kn);
    const [dv] = pair(kn);
    const want = { dq: Float32Array.from(dq), dk: Float32Array.from(dk), dv: Float32Array.from(dv) };
    const ref = oneQueryAttention(q, k, v, dout, s, want);
    const out = arena.alloc(qn);
    const att = arena.alloc(s.B * s.nH * s.T * s.T);
    K.attentionForward(out, att, q, k, v, s);
    K.attentionBackward(dq, dk, dv, dout, att, q, k, v, s, arena.alloc(4 * s.T));
    const same = (a: Float32Array, b: Float32Array) => a.every((x, i) => Object.is(x, b[i]));
    assert.ok(
      ref.att.some((x, i) => x === 0 && i % s.T <= Math.floor(i / s.T) % s.T),
      "an exponent below -87 is exercised",
    );
    for (const [n, a, b] of [
      ["out", out, ref.out],
      ["att", att, ref.att],
      ["dq", dq, want.dq],
      ["dk", dk, want.dk],
      ["dv", dv, want.dv],
    ] as const)
      assert.ok(same(a, b), `${n} differs from the one-query order`);
  });

test("wasm kernels reject buffers outside their memory (typed error)", () => {
  const x = new Float32Array(4);
  assert.throws(() => K.matmulForward(arena.alloc(4), x, arena.alloc(4), 1, 4, 1), KernelError);
});

const cfg: TrainModelConfig = {
  vocab: 37,
  dim: 16,
  layers: 2,
  heads: 4,
  kvHeads: 2,
  ffn: 24,
  ctx: 16,
  ropeBase: 10000,
  normEps: 1e-5,
  tied: false,
};

function batch(B: number, T: number) {
  const tokens = Int32Array.from({ length: B * T }, () => rng.int(0, cfg.vocab - 1));
  const targets = Int32Array.from({ length: B * T }, () => rng.int(0, cfg.vocab - 1));
  const mask = Uint8Array.from({ length: B * T }, (_, i) => (i % 4 === 0 ? 0 : 1));
  let count = 0;
  for (const m of mask) count += m;
  return { tokens, targets, mask, count };
}

test("whole model on the wasm kernels: loss and gradients match the float64 reference (gradient-checked)", () => {
  const [B, T] = [2, 9];
  const ref = new LlamaTrainModel(cfg, B, T, Float64Array);
  initParams(ref.params, ref.layout, cfg, new Rng(5));
  for (let i = 0; i < ref.params.length; i++) ref.params[i] += rng.normal() * 0.2;
  const params = arena.alloc(ref.layout.total);
  params.set(ref.params);
  const fast = new LlamaTrainModel(cfg, B, T, arena.alloc, params, K);
  const b = batch(B, T);
  ref.zeroGrad();
  fast.zeroGrad();
  const l64 = ref.forward(b.tokens, b.targets, b.mask);
  const l32 = fast.forward(b.tokens, b.targets, b.mask);
  assert.ok(Math.abs(l32 - l64) < 1e-5 * Math.abs(l64), `loss ${l32} vs ${l64}`);
  ref.backward();
  fast.backward();
  assert.ok(maxRel(fast.grads, ref.grads) < 1e-4, `grad rel err ${maxRel(fast.grads, ref.grads)}`);
});

test("data-parallel shards: 1 and 2 threads give bit-identical losses and gradients", async () => {
  const [B, T] = [4, 12];
  const one = await ShardedModel.create(cfg, B, T, { threads: 1 });
  const two = await ShardedModel.create(cfg, B, T, { threads: 2 });
  try {
    initParams(one.params, one.layout, cfg, new Rng(8));
    two.params.set(one.params);
    for (let s = 0; s < 3; s++) {
      const b = batch(B, T);
      const [l1, l2] = [await one.step(b), await two.step(b)];
      assert.equal(l1, l2);
      assert.deepEqual(Array.from(one.grads), Array.from(two.grads));
      for (let i = 0; i < one.params.length; i++) one.params[i] = two.params[i] -= 1e-2 * two.grads[i];
    }
    // and the sharded sum equals the one-model reference within float32 rounding
    const ref = new LlamaTrainModel(cfg, B, T, Float64Array, Float64Array.from(one.params));
    const b = batch(B, T);
    ref.zeroGrad();
    const l64 = ref.forward(b.tokens, b.targets, b.mask, b.count);
    ref.backward();
    const l = await two.step(b);
    assert.ok(Math.abs(l - l64) < 1e-5 * l64, `loss ${l} vs ${l64}`);
    assert.ok(maxRel(two.grads, ref.grads) < 1e-4, `grad rel err ${maxRel(two.grads, ref.grads)}`);
  } finally {
    await one.close();
    await two.close();
  }
});

test("training arena: an allocation past 2 GiB is a typed KernelError naming the limit, not a RangeError", () => {
  // GRPO with 32 rows of 1,024 tokens asked for ~2.1 GB; the old bitwise alignment wrapped the offset
  // to a negative int32 and Float32Array threw a RangeError
  const near = new WasmArena(
    new WebAssembly.Memory({ initial: 1, maximum: 65536, shared: true }),
    2 ** 31 - 100,
  );
  assert.throws(
    () => near.alloc(64),
    (e: unknown) => e instanceof KernelError && /2147483648-byte training memory limit/.test(e.message),
  );
  // below the limit the alignment is unchanged: 64-byte steps
  const a = new WasmArena(new WebAssembly.Memory({ initial: 1, maximum: 16, shared: true }), 100);
  const v = a.alloc(4);
  assert.equal(v.byteOffset, 128);
  assert.equal(a.end, 144);
});
