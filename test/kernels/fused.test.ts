/**
 * Fused KernelSet products: matmulMany (several weights, one input, one dispatch),
 * normMatmul (RMSNorm fused with the activation quantization) and matmulBatch (several weights,
 * each its own input: LoRA B products). On odd shapes (rows not a
 * multiple of 4, token counts across the 16-token tiles) and mixed weight types (several
 * activation formats in one batch, i16 and int8-dot layouts):
 *   - WASM results are bit-identical to the unfused WASM calls (matmul per weight; rmsNorm then
 *     matmulMany), and between 1 and 2 threads;
 *   - close to the reference set (same tolerance as matvec.test.ts: 2e-5 relative).
 * relaxed.test.ts reruns this file on the relaxed-SIMD build.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { GGMLType, ggmlTypeName } from "../../src/gguf/types.js";
import { RefKernelSet } from "../../src/kernels/ref/ref-kernel-set.js";
import { createWasmKernelSet, type WasmKernelSet } from "../../src/kernels/wasm/wasm-kernel-set.js";
import type { PreparedWeight } from "../../src/kernels/kernel-set.js";
import { randomF32, randomWeight, maxRelDiff } from "./helpers.js";
import { fp16ToFp32, fp32ToFp16, writeF16 } from "../../src/quant/f16.js";

const ref = new RefKernelSet();
let ks1: WasmKernelSet;
let ks2: WasmKernelSet;
before(async () => {
  ks1 = await createWasmKernelSet({ threads: 1 });
  ks2 = await createWasmKernelSet({ threads: 2 });
});
after(async () => {
  await ks1.dispose();
  await ks2.dispose();
});

const COLS = 512;
/** [type, rows, int8-dot layout] — Q/K/V-like and gate/up-like mixes. */
const MIXES: [GGMLType, number, boolean][][] = [
  [
    [GGMLType.Q4_0, 13, true],
    [GGMLType.Q4_0, 5, false],
    [GGMLType.Q8_0, 7, false],
  ],
  [
    [GGMLType.Q4_K, 9, true],
    [GGMLType.Q6_K, 6, true],
    [GGMLType.Q5_K, 3, false],
    [GGMLType.F16, 5, false],
  ],
  [
    [GGMLType.F32, 6, false],
    [GGMLType.Q4_1, 7, false],
  ],
];

function q8Safe(type: GGMLType, b: Uint8Array): Uint8Array {
  if (type === GGMLType.Q8_0)
    for (let o = 0; o < b.length; o += 34)
      for (let i = 2; i < 34; i++) if (b[o + i] === 0x80) b[o + i] = 0x81;
  return b;
}

function prep(ks: WasmKernelSet, mix: [GGMLType, number, boolean][]): PreparedWeight[] {
  return mix.map(([t, r, d], i) =>
    ks.prepareWeightLayout(t, q8Safe(t, randomWeight(t, r, COLS, 40 + i * 7 + t)), r, COLS, d),
  );
}

MIXES.forEach((mix, mi) => {
  const name = mix.map(([t, r, d]) => `${ggmlTypeName(t)}${d ? "/dot8" : ""}x${r}`).join(" + ");
  test(`matmulMany ${name}: = matmul per weight, 1 = 2 threads, vs ref`, () => {
    const w1 = prep(ks1, mix);
    const w2 = prep(ks2, mix);
    const wr = mix.map(([t, r], i) =>
      ref.prepareWeight(t, q8Safe(t, randomWeight(t, r, COLS, 40 + i * 7 + t)), r, COLS),
    );
    for (const nTok of [1, 6, 37]) {
      const X = randomF32(nTok * COLS, 100 + mi * 10 + nTok);
      const Y1 = mix.map(([, r]) => new Float32Array(nTok * r));
      const Y2 = mix.map(([, r]) => ks2.alloc(nTok * r)); // outputs in WASM memory too
      ks1.matmulMany(w1, X, nTok, Y1);
      const X2 = ks2.alloc(nTok * COLS);
      X2.set(X);
      ks2.matmulMany(w2, X2, nTok, Y2);
      mix.forEach(([, r], i) => {
        const y = new Float32Array(nTok * r);
        ks1.matmul(w1[i]!, X, nTok, y);
        assert.deepEqual(Y1[i], y, `nTok ${nTok} weight ${i}: matmulMany != matmul`);
        assert.deepEqual(Array.from(Y2[i]!), Array.from(y), `nTok ${nTok} weight ${i}: 2 threads differ`);
        const yr = new Float32Array(nTok * r);
        ref.matmul(wr[i]!, X, nTok, yr);
        const d = maxRelDiff(y, yr, nTok * r);
        assert.ok(d <= 2e-5, `nTok ${nTok} weight ${i}: rel diff ${d} vs ref`);
      });
    }
  });

  test(`normMatmul ${name}: = rmsNorm then matmulMany, normOut, 1 = 2 threads, vs ref`, () => {
    const w1 = prep(ks1, mix);
    const w2 = prep(ks2, mix);
    const wr = mix.map(([t, r], i) =>
      ref.prepareWeight(t, q8Safe(t, randomWeight(t, r, COLS, 40 + i * 7 + t)), r, COLS),
    );
    const g = randomF32(COLS, 7 + mi, 2);
    for (const nTok of [1, 5, 33]) {
      const X = randomF32(nTok * COLS, 200 + mi * 10 + nTok, 3);
      const eps = 1e-5;
      // unfused WASM
      const h = new Float32Array(nTok * COLS);
      ks1.rmsNorm(X, g, h, COLS, nTok, eps);
      const Yu = mix.map(([, r]) => new Float32Array(nTok * r));
      ks1.matmulMany(w1, h, nTok, Yu);
      // fused, plain arrays (copied in/out), with normOut
      const Y1 = mix.map(([, r]) => new Float32Array(nTok * r));
      const h1 = new Float32Array(nTok * COLS);
      ks1.normMatmul(X, g, eps, w1, nTok, Y1, h1);
      assert.deepEqual(h1, h, `nTok ${nTok}: normOut != rmsNorm`);
      // fused, WASM-memory arrays, 2 threads, no normOut
      const X2 = ks2.alloc(nTok * COLS);
      X2.set(X);
      const Y2 = mix.map(([, r]) => ks2.alloc(nTok * r));
      ks2.normMatmul(X2, g, eps, w2, nTok, Y2);
      const hr = new Float32Array(nTok * COLS);
      const Yr = mix.map(([, r]) => new Float32Array(nTok * r));
      ref.normMatmul(X, g, eps, wr, nTok, Yr, hr);
      mix.forEach(([, r], i) => {
        assert.deepEqual(Y1[i], Yu[i], `nTok ${nTok} weight ${i}: fused != unfused`);
        assert.deepEqual(
          Array.from(Y2[i]!),
          Array.from(Yu[i]!),
          `nTok ${nTok} weight ${i}: 2 threads differ`,
        );
        const d = maxRelDiff(Y1[i]!, Yr[i]!, nTok * r);
        assert.ok(d <= 5e-5, `nTok ${nTok} weight ${i}: rel diff ${d} vs ref`);
      });
    }
  });
});

test("matmulBatch: own inputs per product = matmul each, 1 = 2 threads, on this thread and in the pool", () => {
  // [type, rows, cols, nTokens]: LoRA-like B (rank columns) and A products, and one large enough
  // (> 256k multiply-adds in all) to go to the pool.
  const small: [GGMLType, number, number, number][] = [
    [GGMLType.F16, 37, 16, 1],
    [GGMLType.F32, 9, 16, 1],
    [GGMLType.F16, 16, 96, 1],
    [GGMLType.Q8_0, 6, 64, 2],
  ];
  const large: [GGMLType, number, number, number][] = [...small, [GGMLType.F16, 301, 512, 3]];
  for (const items of [small, large]) {
    const w1 = items.map(([t, r, c], i) =>
      ks1.prepareWeight(t, q8Safe(t, randomWeight(t, r, c, 70 + i)), r, c),
    );
    const w2 = items.map(([t, r, c], i) =>
      ks2.prepareWeight(t, q8Safe(t, randomWeight(t, r, c, 70 + i)), r, c),
    );
    const X = items.map(([, , c, n], i) => randomF32(n * c, 90 + i));
    const Y1 = items.map(([, r, , n]) => new Float32Array(n * r));
    ks1.matmulBatch(items.map(([, , , n], i) => ({ w: w1[i]!, X: X[i]!, nTokens: n, Y: Y1[i]! })));
    // WASM-memory inputs and outputs on the 2-thread set.
    const X2 = X.map((x) => {
      const v = ks2.alloc(x.length);
      v.set(x);
      return v;
    });
    const Y2 = items.map(([, r, , n]) => ks2.alloc(n * r));
    ks2.matmulBatch(items.map(([, , , n], i) => ({ w: w2[i]!, X: X2[i]!, nTokens: n, Y: Y2[i]! })));
    items.forEach(([, r, , n], i) => {
      const y = new Float32Array(n * r);
      ks1.matmul(w1[i]!, X[i]!, n, y);
      assert.deepEqual(Y1[i], y, `item ${i}: matmulBatch != matmul`);
      assert.deepEqual(Array.from(Y2[i]!), Array.from(y), `item ${i}: 2 threads differ`);
    });
  }
  assert.throws(
    () =>
      ks1.matmulBatch([
        {
          w: ks1.prepareWeight(GGMLType.F32, new Uint8Array(64), 4, 4),
          X: new Float32Array(3),
          nTokens: 1,
          Y: new Float32Array(4),
        },
      ]),
    { name: "KernelError" },
  );
});

test("F16 products round the activation to fp16 as the scalar reference (ties, subnormals, overflow, inf, NaN)", () => {
  // A 1x1 F16 weight of 1.0 over N tokens: Y[t] = round_f16(X[t]) * 1 exactly.
  const vals: number[] = [0, -0, Infinity, -Infinity, NaN, 65504, 65519.99, 65520, -65520, 65536, 1e9];
  const bits = new Uint32Array(1);
  const asF = new Float32Array(bits.buffer);
  for (let e = 90; e < 146; e++)
    for (const m of [0, 0x1000, 0x3000, 0x0fff, 0x1001, 0x7fe000, 0x7ff000, 0x7fffff, 0x2345]) {
      bits[0] = (e << 23) | m;
      vals.push(asF[0], -asF[0]);
    }
  for (let k = 0; k < 40; k++) vals.push((k + 0.5) * 2 ** -24, (k + 0.25) * 2 ** -24, -(k + 0.5) * 2 ** -24);
  for (const v of [1e-45, 1e-40, 5.9e-8, 2.9e-8, 3e-8]) vals.push(v, -v);
  const r = randomF32(301, 5, 1);
  for (const v of r) vals.push(v, v * 3e-5, v * 7e4);
  const X = Float32Array.from(vals);
  const n = X.length;
  const one = new Uint8Array(2);
  writeF16(one, 0, 1);
  for (const ks of [ks1, ks2]) {
    const w = ks.prepareWeight(GGMLType.F16, one, 1, 1);
    const Y = new Float32Array(n);
    ks.matmul(w, X, n, Y);
    for (let i = 0; i < n; i++) {
      const want = fp16ToFp32(fp32ToFp16(X[i]!));
      if (Number.isNaN(want)) assert.ok(Number.isNaN(Y[i]), `x ${X[i]}: got ${Y[i]}, want NaN`);
      // === : the product's zero accumulator makes -0 come out +0.
      else
        assert.ok(
          Y[i] === want,
          `x ${X[i]} (0x${new Uint32Array(X.buffer)[i]!.toString(16)}): got ${Y[i]}, want ${want}`,
        );
    }
  }
});

test("low-rank deltas (LoRA) in matmulMany / normMatmul = A and B products apart + f32 adds, 1 = 2 threads, vs ref", () => {
  // Base weights of one input (rows not a multiple of 4 included) and deltas on them: F32 and F16
  // B (added inside the base product's chunks), a Q8_0 B (the products-apart fallback), two
  // deltas on one output (added in order), ranks 8 / 4 / 12.
  const base: [GGMLType, number, boolean][] = [
    [GGMLType.Q4_0, 22, true],
    [GGMLType.Q8_0, 9, false],
    [GGMLType.F16, 13, false],
    // 15.5 row groups: an F16 B adds four groups side by side (the last one partial) on one
    // thread, and single groups in the two-thread chunks.
    [GGMLType.Q4_0, 62, false],
  ];
  const lr: [number, GGMLType, GGMLType, number, number][] = [
    // out, A type, B type, rank, scale
    [0, GGMLType.F16, GGMLType.F16, 8, 0.75],
    [1, GGMLType.F32, GGMLType.F32, 4, -1.5],
    [0, GGMLType.F32, GGMLType.F32, 12, 2],
    [2, GGMLType.F16, GGMLType.F32, 8, 0.5],
    [3, GGMLType.F16, GGMLType.F16, 16, 0.25],
    [3, GGMLType.F32, GGMLType.F16, 6, -0.5],
  ];
  const withQ8: [number, GGMLType, GGMLType, number, number][] = [
    ...lr,
    [1, GGMLType.F32, GGMLType.Q8_0, 32, 1],
  ];
  const mk = (ks: WasmKernelSet | RefKernelSet, t: GGMLType, r: number, c: number, seed: number) =>
    ks.prepareWeight(t, q8Safe(t, randomWeight(t, r, c, seed)), r, c);
  const deltasOf = (ks: WasmKernelSet | RefKernelSet, spec: typeof lr) =>
    spec.map(([out, ta, tb, rank, scale], i) => ({
      out,
      a: mk(ks, ta, rank, COLS, 300 + i),
      b: mk(ks, tb, base[out]![1], rank, 400 + i),
      scale,
    }));
  // matvec_f16 runs four 4-row groups side by side (a rank-16 A x): the bits of the one-group
  // sums that matmul_f16 keeps (token tiles, 2 tokens).
  for (const rows of [16, 19, 37]) {
    const w16 = mk(ks1, GGMLType.F16, rows, COLS, 9 + rows);
    const X = randomF32(2 * COLS, 600 + rows);
    const y2 = new Float32Array(2 * rows);
    ks1.matmul(w16, X, 2, y2);
    const y1 = new Float32Array(rows);
    ks1.matmul(w16, X.subarray(0, COLS), 1, y1);
    assert.deepEqual(y1, y2.subarray(0, rows), `F16 matvec ${rows} rows != matmul`);
  }
  for (const spec of [lr, withQ8]) {
    const w1 = prep(ks1, base);
    const w2 = prep(ks2, base);
    const wr = base.map(([t, r], i) =>
      ref.prepareWeight(t, q8Safe(t, randomWeight(t, r, COLS, 40 + i * 7 + t)), r, COLS),
    );
    const d1 = deltasOf(ks1, spec);
    const d2 = deltasOf(ks2, spec);
    const dr = deltasOf(ref, spec);
    const g = randomF32(COLS, 17, 2);
    for (const nTok of [1, 3, 20, 37]) {
      const X = randomF32(nTok * COLS, 500 + nTok, 3);
      for (const norm of [false, true]) {
        // Apart: (normalized input), base products, then per delta A, B, add.
        let h = X;
        if (norm) {
          h = new Float32Array(nTok * COLS);
          ks1.rmsNorm(X, g, h, COLS, nTok, 1e-5);
        }
        const Yu = base.map(([, r]) => new Float32Array(nTok * r));
        ks1.matmulMany(w1, h, nTok, Yu);
        for (const d of d1) {
          const ax = new Float32Array(nTok * d.a.rows);
          ks1.matmul(d.a, h, nTok, ax);
          const bax = new Float32Array(nTok * d.b.rows);
          ks1.matmul(d.b, ax, nTok, bax);
          const y = Yu[d.out]!;
          for (let j = 0; j < y.length; j++) y[j] = Math.fround(y[j]! + Math.fround(bax[j]! * d.scale));
        }
        const Y1 = base.map(([, r]) => new Float32Array(nTok * r));
        const Y2 = base.map(([, r]) => ks2.alloc(nTok * r));
        const X2 = ks2.alloc(nTok * COLS);
        X2.set(X);
        const Yr = base.map(([, r]) => new Float32Array(nTok * r));
        if (norm) {
          ks1.normMatmul(X, g, 1e-5, w1, nTok, Y1, undefined, d1);
          ks2.normMatmul(X2, g, 1e-5, w2, nTok, Y2, undefined, d2);
          ref.normMatmul(X, g, 1e-5, wr, nTok, Yr, undefined, dr);
        } else {
          ks1.matmulMany(w1, X, nTok, Y1, d1);
          ks2.matmulMany(w2, X2, nTok, Y2, d2);
          ref.matmulMany(wr, X, nTok, Yr, dr);
        }
        base.forEach(([, r], i) => {
          const what = `${spec.length} deltas, nTok ${nTok}${norm ? ", norm" : ""}, output ${i}`;
          assert.deepEqual(Y1[i], Yu[i], `${what}: != apart`);
          assert.deepEqual(Array.from(Y2[i]!), Array.from(Yu[i]!), `${what}: 2 threads differ`);
          // A Q8_0 B quantizes A x: a float-order difference in A x may move one of its int8
          // steps (1/127 of a block's max), so that mix gets a looser bound.
          const d = maxRelDiff(Y1[i]!, Yr[i]!, nTok * r);
          assert.ok(d <= (spec === lr ? 1e-4 : 2e-3), `${what}: rel diff ${d} vs ref`);
        });
      }
    }
  }
  // The WASM set reuses a products call's plan (tasks, buffers) while its weights, deltas and
  // places are the same: the same buffers with new data, then a delta's scale changed in place
  // give the products apart (which add no deltas) of the new data and scale.
  {
    const g = randomF32(COLS, 18, 2);
    const w1 = prep(ks1, base);
    const w2 = prep(ks2, base);
    const d1 = deltasOf(ks1, lr);
    const d2 = deltasOf(ks2, lr);
    const X = ks2.alloc(COLS);
    const Y2 = base.map(([, r]) => ks2.alloc(r));
    for (const [seed, scale] of [
      [1, 0.75],
      [2, 0.75],
      [2, -3],
    ] as const) {
      X.set(randomF32(COLS, 700 + seed, 3));
      d2[0]!.scale = scale;
      d1[0]!.scale = scale;
      ks2.normMatmul(X, g, 1e-5, w2, 1, Y2, undefined, d2);
      const h = new Float32Array(COLS);
      ks1.rmsNorm(X, g, h, COLS, 1, 1e-5);
      const Yu = base.map(([, r]) => new Float32Array(r));
      ks1.matmulMany(w1, h, 1, Yu);
      for (const d of d1) {
        const ax = new Float32Array(d.a.rows);
        ks1.matmul(d.a, h, 1, ax);
        const bax = new Float32Array(d.b.rows);
        ks1.matmul(d.b, ax, 1, bax);
        const y = Yu[d.out]!;
        for (let j = 0; j < y.length; j++) y[j] = Math.fround(y[j]! + Math.fround(bax[j]! * d.scale));
      }
      base.forEach((_, i) =>
        assert.deepEqual(Array.from(Y2[i]!), Array.from(Yu[i]!), `plan reuse ${seed} ${scale}: ${i}`),
      );
    }
  }
  // A delta that does not fit its output is a KernelError.
  const [w] = prep(ks1, base);
  const bad = { out: 0, a: mk(ks1, GGMLType.F32, 4, COLS, 1), b: mk(ks1, GGMLType.F32, 21, 4, 2), scale: 1 };
  assert.throws(() => ks1.matmulMany([w!], new Float32Array(COLS), 1, [new Float32Array(22)], [bad]), {
    name: "KernelError",
  });
  assert.throws(
    () => ks1.matmulMany([w!], new Float32Array(COLS), 1, [new Float32Array(22)], [{ ...bad, out: 1 }]),
    {
      name: "KernelError",
    },
  );
});

test("matmulMany / normMatmul argument errors are KernelErrors", () => {
  const a = ks1.prepareWeight(GGMLType.Q4_0, randomWeight(GGMLType.Q4_0, 4, 64, 1), 4, 64);
  const b = ks1.prepareWeight(GGMLType.Q4_0, randomWeight(GGMLType.Q4_0, 4, 96, 2), 4, 96);
  const X = new Float32Array(96);
  assert.throws(() => ks1.matmulMany([a, b], X, 1, [new Float32Array(4), new Float32Array(4)]), {
    name: "KernelError",
  });
  assert.throws(() => ks1.matmulMany([a], X, 1, []), { name: "KernelError" });
  assert.throws(() => ks1.matmulMany([a], X, 2, [new Float32Array(8)]), { name: "KernelError" });
  assert.throws(() => ks1.normMatmul(X, new Float32Array(10), 1e-5, [a], 1, [new Float32Array(4)]), {
    name: "KernelError",
  });
});
