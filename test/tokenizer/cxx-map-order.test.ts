/**
 * The emulated libstdc++ string hash and map order. Hash values were printed by
 * `std::hash<std::string>{}(s)` from g++ (libstdc++, x86-64); the map order itself is checked
 * against llama.cpp through the role picks in conformance.test.ts.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { cxxMapOrder, cxxStringHash } from "../../src/tokenizer/cxx-map-order.js";

const GXX_HASHES: [string, string][] = [
  ["", "553e93901e462a6e"],
  ["a", "454ddee488c1ed6b"],
  ["hello", "26553298fdbe39c8"],
  ["<|im_end|>", "1c4ad163ccd5c545"],
  ["12345678", "8c5b90a33a04dca5"],
  ["123456789", "aaeb28d3d5f165c0"],
  ["\u2581the", "e13dd80a2bc57315"],
  ["<|endoftext|>", "2b34c074254b95f4"],
];

test("std::hash<std::string> emulation equals libstdc++ (0, 1..7, 8 and 9+ byte keys, UTF-8)", () => {
  const out = new Uint32Array(2);
  for (const [s, want] of GXX_HASHES) {
    cxxStringHash(new TextEncoder().encode(s), out);
    assert.equal(out[0].toString(16).padStart(8, "0") + out[1].toString(16).padStart(8, "0"), want, s);
  }
});

test("map order: every distinct key once, repeats keep their first node, distinct flag agrees", () => {
  const keys = Array.from({ length: 500 }, (_, i) => `k${i % 400}`);
  const order = cxxMapOrder(keys)!;
  assert.equal(order.length, 400);
  assert.deepEqual(
    [...order].sort((a, b) => a - b),
    Array.from({ length: 400 }, (_, i) => i),
  );
  assert.deepEqual(cxxMapOrder(keys.slice(0, 400), true), order);
});
