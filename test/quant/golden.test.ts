/**
 * Our reference formats against the checked-in ggml outputs: quantization byte-identical to
 * ggml_quantize_chunk (the *_ref quantizers), dequantization of ggml's bytes bit-identical to ggml's
 * to_float (compared by SHA-256 of the float32 bytes), dots bit-identical to ggml-cpu's generic vec_dot.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { ggmlRowBytes } from "../../src/gguf/types.js";
import { dequantizeRows, quantizeRows, vecDot } from "../../src/quant/index.js";
import { loadGolden } from "./golden_data.js";

const g = loadGolden();
const nRows = g.rowNames.length;
const act = new Float32Array(g.input.length);
// The generator dots row r with input row (r+1) % nRows.
act.set(g.input.subarray(g.nPerRow));
act.set(g.input.subarray(0, g.nPerRow), g.input.length - g.nPerRow);

function firstDiff(a: Uint8Array, b: Uint8Array): string {
  for (let i = 0; i < Math.max(a.length, b.length); i++)
    if (a[i] !== b[i]) return `byte ${i}: ours ${a[i]} ggml ${b[i]}`;
  return "none";
}

for (const t of g.types) {
  test(`${t.name}: quantize is byte-identical to ggml`, () => {
    const ours = quantizeRows(t.type, g.input, g.nPerRow);
    if (t.quant === null) return; // F32: nothing to compare beyond the copy
    assert.equal(ours.length, t.quant.length);
    const rb = ggmlRowBytes(t.type, g.nPerRow);
    for (let r = 0; r < nRows; r++) {
      const a = ours.subarray(r * rb, (r + 1) * rb);
      const b = t.quant.subarray(r * rb, (r + 1) * rb);
      assert.ok(
        Buffer.from(a).equals(Buffer.from(b)),
        `row '${g.rowNames[r]}' differs at ${firstDiff(a, b)}`,
      );
    }
  });

  if (t.dequantSha256 && t.quant) {
    test(`${t.name}: dequantize of ggml bytes is bit-identical to ggml`, () => {
      const out = dequantizeRows(t.type, t.quant!, g.input.length);
      const sha = createHash("sha256").update(new Uint8Array(out.buffer)).digest("hex");
      assert.equal(sha, t.dequantSha256);
    });
  }

  if (t.dots && t.quant) {
    test(`${t.name}: vecDot is bit-identical to ggml-cpu vec_dot`, () => {
      const rb = ggmlRowBytes(t.type, g.nPerRow);
      for (let r = 0; r < nRows; r++) {
        const ours = vecDot(t.type, t.quant!, r * rb, act.subarray(r * g.nPerRow), g.nPerRow);
        assert.ok(
          Object.is(Math.fround(ours), t.dots![r]),
          `row '${g.rowNames[r]}': ours ${ours} ggml ${t.dots![r]}`,
        );
      }
    });
  }
}

/** RMSE over elements whose error is finite, divided by all elements (as the generator computes it). */
function rmse(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i] - b[i];
    if (Number.isFinite(d)) s += d * d;
  }
  return Math.sqrt(s / a.length);
}

for (const t of g.types) {
  if (t.rmse === undefined) continue;
  test(`${t.name}: round-trip RMSE of our quantizer <= ggml's`, () => {
    const ours = rmse(
      g.input,
      dequantizeRows(t.type, quantizeRows(t.type, g.input, g.nPerRow), g.input.length),
    );
    assert.ok(ours <= t.rmse! * (1 + 1e-9) + 1e-12, `ours ${ours} ggml ${t.rmse}`);
  });
}
