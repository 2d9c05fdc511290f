/**
 * F16 and BF16 conversions: every half value round-trips; float -> half/bf16 on rounding boundaries,
 * subnormals, overflow and NaN equals ggml (checked-in edge set, plus 2^20 random float bit patterns
 * against the live library when available).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fp16ToFp32Bits, fp32BitsToFp16, fp16ToFp32, fp32ToFp16 } from "../../src/quant/f16.js";
import { fp32BitsToBf16, bf16ToFp32, fp32ToBf16 } from "../../src/quant/bf16.js";
import { loadGolden, liveUnavailable, runScript } from "./golden_data.js";
import { Rng } from "./rng.js";

const g = loadGolden();

test("all 65536 halves: decode matches ggml (SHA-256 of the float bits) and re-encode round-trips", () => {
  const bits = new Uint32Array(65536);
  for (let h = 0; h < 65536; h++) bits[h] = fp16ToFp32Bits(h);
  assert.equal(createHash("sha256").update(new Uint8Array(bits.buffer)).digest("hex"), g.fp.halfToF32Sha256);
  for (let h = 0; h < 65536; h++) {
    const nan = (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0;
    const back = fp32BitsToFp16(bits[h]);
    assert.equal(back, nan ? (h & 0x8000) | 0x7e00 : h, `half 0x${h.toString(16)}`);
  }
});

test("float -> f16 / bf16 on ggml's edge set", () => {
  const { inputBits, f16, bf16 } = g.fp;
  assert.ok(inputBits.length > 1000);
  for (let i = 0; i < inputBits.length; i++) {
    const b = inputBits[i];
    assert.equal(fp32BitsToFp16(b), f16[i], `f16 of 0x${b.toString(16)}`);
    assert.equal(fp32BitsToBf16(b), bf16[i], `bf16 of 0x${b.toString(16)}`);
  }
});

test("hand-checked values", () => {
  assert.equal(fp32ToFp16(1), 0x3c00);
  assert.equal(fp32ToFp16(65504), 0x7bff);
  assert.equal(fp32ToFp16(65519.996), 0x7bff); // just below the halfway point to 65536
  assert.equal(fp32ToFp16(65520), 0x7c00); // halfway, odd mantissa: ties to even = inf
  assert.equal(fp32ToFp16(2 ** -24), 0x0001); // smallest subnormal
  assert.equal(fp32ToFp16(2 ** -25), 0x0000); // halfway to 0: ties to even
  assert.equal(fp32ToFp16(3 * 2 ** -25), 0x0002); // 1.5 ulp: ties to even (2)
  assert.equal(fp32ToFp16(-0), 0x8000);
  assert.equal(fp32ToFp16(-Infinity), 0xfc00);
  assert.equal(fp32ToFp16(NaN), 0x7e00);
  assert.equal(fp16ToFp32(0x0001), 2 ** -24);
  assert.equal(fp16ToFp32(0x3555), 0.333251953125);
  assert.equal(fp32ToBf16(1 + 2 ** -8), 0x3f80); // tie, even stays
  assert.equal(fp32ToBf16(1 + 3 * 2 ** -8), 0x3f82); // tie, odd rounds up
  assert.equal(bf16ToFp32(0x4049), 3.140625);
  assert.equal(fp32BitsToBf16(0x7f800001), 0x7fc0); // signalling NaN made quiet
  assert.equal(fp32BitsToBf16(0xffa00000), 0xffe0);
});

const why = liveUnavailable();
test(
  "2^20 random float bit patterns convert like ggml (live)",
  { skip: why ? `skipped: ${why}` : false },
  () => {
    const rng = new Rng(7);
    const n = 1 << 20;
    const bits = new Uint32Array(n);
    for (let i = 0; i < n; i++) {
      // Half the samples uniform over all bit patterns, half concentrated in the f16 range.
      bits[i] =
        i & 1
          ? rng.uint32()
          : ((rng.uint32() & 0x80000000) | (0x30000000 + (rng.uint32() % 0x18000000))) >>> 0;
    }
    const dir = mkdtempSync(join(tmpdir(), "edgellm-fp-"));
    try {
      writeFileSync(join(dir, "fp.u32"), new Uint8Array(bits.buffer));
      runScript(["fp", dir]);
      const ref16 = new Uint16Array(new Uint8Array(readFileSync(join(dir, "fp.f16"))).buffer);
      const refbf = new Uint16Array(new Uint8Array(readFileSync(join(dir, "fp.bf16"))).buffer);
      let bad16 = 0;
      let badbf = 0;
      for (let i = 0; i < n; i++) {
        if (fp32BitsToFp16(bits[i]) !== ref16[i]) bad16++;
        if (fp32BitsToBf16(bits[i]) !== refbf[i]) badbf++;
      }
      assert.equal(bad16, 0, "f16 mismatches");
      assert.equal(badbf, 0, "bf16 mismatches");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
