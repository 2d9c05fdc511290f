import { test } from "node:test";
import assert from "node:assert/strict";
import { GGMLType, ggmlRowBytes, ggmlTypeFromName, ggmlTypeTraits } from "../../src/gguf/types.js";

test("block geometry of common types", () => {
  assert.equal(ggmlRowBytes(GGMLType.Q8_0, 4096), 128 * 34);
  assert.equal(ggmlRowBytes(GGMLType.Q4_K, 4096), 16 * 144);
  assert.equal(ggmlTypeTraits(GGMLType.Q6_K).typeSize, 210);
  assert.equal(ggmlTypeFromName("q4_k"), GGMLType.Q4_K);
  assert.throws(() => ggmlRowBytes(GGMLType.Q4_0, 33), RangeError);
});
