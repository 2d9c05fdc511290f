import { test } from "node:test";
import assert from "node:assert/strict";
import { GGMLType } from "../../src/gguf/types.js";
import { quantizeRows } from "../../src/quant/index.js";
import { QuantizePool } from "../../src/quant/pool.js";

test("QuantizePool gives the same bytes as quantizeRows, for any thread count", async () => {
  const nPerRow = 512;
  const rows = 301; // not a multiple of the thread count
  const src = new Float32Array(nPerRow * rows);
  let s = 12345;
  for (let i = 0; i < src.length; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    src[i] = (s / 2 ** 32 - 0.5) * (i % 97 === 0 ? 40 : 1);
  }
  for (const threads of [1, 2, 3]) {
    const pool = new QuantizePool(threads);
    try {
      for (const type of [GGMLType.Q8_0, GGMLType.Q4_0, GGMLType.Q4_K, GGMLType.Q6_K, GGMLType.F16]) {
        const want = quantizeRows(type, src, nPerRow);
        const got = await pool.quantize(type, src, nPerRow);
        assert.deepEqual(got, want, `type ${GGMLType[type]} threads ${threads}`);
      }
    } finally {
      await pool.close();
    }
  }
});
