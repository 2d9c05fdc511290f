/**
 * Random valid quant blocks (factory/random-blocks.ts, for multi-GB test models): every type
 * decodes to finite weights centred near 0 with a spread near the asked std, and the same seed
 * gives the same bytes. (scripts/big-model.mjs runs such a file against llama.cpp.)
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { GGMLType } from "../../src/gguf/types.js";
import { Rng } from "../../src/sampling/rng.js";
import { RANDOM_BLOCK_TYPES, randomBlocks } from "../../src/model/factory/random-blocks.js";
import { dequantizeRowAny } from "../../src/model/blocks/linear.js";

test("random blocks of each type decode to finite weights spread by about the asked std", () => {
  const n = 256 * 64;
  for (const type of RANDOM_BLOCK_TYPES) {
    const bytes = randomBlocks(type, n, Rng.stream(3, 1), 0.02);
    assert.deepEqual(randomBlocks(type, n, Rng.stream(3, 1), 0.02), bytes, "deterministic");
    const w = new Float32Array(n);
    dequantizeRowAny(type, bytes, 0, w, 0, n, "w");
    let s = 0,
      s2 = 0;
    for (const v of w) {
      assert.ok(Number.isFinite(v));
      s += v;
      s2 += v * v;
    }
    const mean = s / n;
    const sd = Math.sqrt(s2 / n - mean * mean);
    assert.ok(Math.abs(mean) < 0.01, `${GGMLType[type]} mean ${mean}`);
    assert.ok(sd > 0.01 && sd < 0.04, `${GGMLType[type]} sd ${sd}`);
  }
});
