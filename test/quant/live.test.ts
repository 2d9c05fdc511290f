/**
 * Live comparison with ggml through scripts/golden/quant_golden.py (python3 + the prebuilt ggml
 * libraries from node-llama-cpp). Skipped, with the reason, where those are unavailable.
 *  - the checked-in golden file must be exactly what the script generates now (no silent drift);
 *  - on fresh random inputs of many distributions: quantization byte-identical, dequantization of
 *    ggml's bytes bit-identical (NaN compared as NaN), dots bit-identical to ggml-cpu's generic vec_dot.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GGMLType, ggmlRowBytes, ggmlTypeName } from "../../src/gguf/types.js";
import { dequantizeRows, quantizeRows, vecDot } from "../../src/quant/index.js";
import { GOLDEN_PATH, liveUnavailable, repoRoot, runScript } from "./golden_data.js";
import { Rng, fuzzRows } from "./rng.js";

const why = liveUnavailable();
const skip = why ? `live ggml comparison skipped: ${why}` : false;

const TYPES = [
  GGMLType.F16,
  GGMLType.BF16,
  GGMLType.Q4_0,
  GGMLType.Q4_1,
  GGMLType.Q5_0,
  GGMLType.Q5_1,
  GGMLType.Q8_0,
  GGMLType.Q8_1,
  GGMLType.Q2_K,
  GGMLType.Q3_K,
  GGMLType.Q4_K,
  GGMLType.Q5_K,
  GGMLType.Q6_K,
  GGMLType.Q8_K,
  GGMLType.IQ4_NL,
  GGMLType.IQ4_XS,
  GGMLType.MXFP4,
];

function readF32(path: string): Float32Array {
  const b = readFileSync(path);
  const u = new Uint8Array(b.length);
  u.set(b);
  return new Float32Array(u.buffer);
}

/** Bit equality, except that any NaN equals any NaN (C and V8 produce different default NaN bits). */
function sameFloat(a: number, b: number): boolean {
  return Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b));
}

test("checked-in golden file equals a fresh generation from ggml", { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), "edgellm-quant-"));
  try {
    runScript(["generate", join(dir, "golden.json")]);
    const fresh = readFileSync(join(dir, "golden.json"), "utf8");
    const checkedIn = readFileSync(join(repoRoot(), GOLDEN_PATH), "utf8");
    assert.ok(
      fresh === checkedIn,
      `${GOLDEN_PATH} is stale: rerun scripts/golden/quant_golden.py generate ${GOLDEN_PATH}`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

for (const [seed, nPerRow, nRows] of [
  [1, 256, 24],
  [2, 512, 16],
  [3, 4096, 3],
] as const) {
  test(`random rows (seed ${seed}, ${nRows} x ${nPerRow}) match ggml for every type`, { skip }, () => {
    const rng = new Rng(seed);
    const input = fuzzRows(rng, nRows, nPerRow, true);
    const act = new Float32Array(input.length);
    for (let i = 0; i < act.length; i++) act[i] = rng.gauss();
    const dir = mkdtempSync(join(tmpdir(), "edgellm-quant-"));
    try {
      writeFileSync(join(dir, "input.f32"), new Uint8Array(input.buffer));
      writeFileSync(join(dir, "act.f32"), new Uint8Array(act.buffer));
      runScript(["run", dir, TYPES.map(ggmlTypeName).join(","), String(nPerRow)]);
      const failures: string[] = [];
      for (const t of TYPES) {
        const name = ggmlTypeName(t);
        const ref = new Uint8Array(readFileSync(join(dir, `${name}.quant`)));
        const ours = quantizeRows(t, input, nPerRow);
        const rb = ggmlRowBytes(t, nPerRow);
        for (let r = 0; r < nRows; r++) {
          const a = Buffer.from(ours.subarray(r * rb, (r + 1) * rb));
          if (!a.equals(Buffer.from(ref.subarray(r * rb, (r + 1) * rb))))
            failures.push(`${name} quantize row ${r}`);
        }
        const dqPath = join(dir, `${name}.dequant`);
        if (existsSync(dqPath)) {
          const refDq = readF32(dqPath);
          const dq = dequantizeRows(t, ref, input.length);
          let bad = 0;
          for (let i = 0; i < dq.length; i++) if (!sameFloat(dq[i], refDq[i])) bad++;
          if (bad) failures.push(`${name} dequantize: ${bad} elements differ`);
        }
        const dotPath = join(dir, `${name}.dot`);
        if (existsSync(dotPath)) {
          const refDot = readF32(dotPath);
          for (let r = 0; r < nRows; r++) {
            const d = vecDot(t, ref, r * rb, act.subarray(r * nPerRow), nPerRow);
            if (!sameFloat(d, refDot[r]))
              failures.push(`${name} vecDot row ${r}: ours ${d} ggml ${refDot[r]}`);
          }
        }
      }
      assert.deepEqual(failures, []);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
