import { test } from "node:test";
import assert from "node:assert/strict";
import { GGUFError } from "../../src/errors.js";
import {
  getArray,
  getBool,
  getNumber,
  getString,
  getStringArray,
  getU32,
  optNumber,
  optString,
  optU32,
} from "../../src/gguf/getters.js";
import type { GGUFMetaValue } from "../../src/gguf/value.js";

const md = new Map<string, GGUFMetaValue>([
  ["s", "llama"],
  ["u", 4096],
  ["f", 1e-5],
  ["big", 1n << 40n],
  ["huge", 1n << 60n],
  ["neg", -3],
  ["b", true],
  ["toks", ["a", "b"]],
  ["i32", new Int32Array([1])],
]);

test("typed getters return values and name the key on errors", () => {
  assert.equal(getString(md, "s"), "llama");
  assert.equal(getU32(md, "u"), 4096);
  assert.equal(getNumber(md, "f"), 1e-5);
  assert.equal(getNumber(md, "big"), 2 ** 40);
  assert.equal(getBool(md, "b"), true);
  assert.deepEqual(getStringArray(md, "toks"), ["a", "b"]);
  assert.deepEqual(getArray(md, "i32"), new Int32Array([1]));
  assert.equal(optString(md, "missing"), undefined);
  assert.equal(optNumber(md, "missing"), undefined);
  assert.equal(optU32(md, "missing"), undefined);
  const named = (key: string) => (e: unknown) =>
    e instanceof GGUFError && e.context.field === key && e.message.includes(key);
  assert.throws(() => getString(md, "missing"), named("missing"));
  assert.throws(() => getString(md, "u"), named("u"));
  assert.throws(() => getU32(md, "neg"), named("neg"));
  assert.throws(() => getU32(md, "f"), named("f"));
  assert.throws(() => getU32(md, "big"), named("big"));
  assert.throws(() => getNumber(md, "huge"), named("huge"));
  assert.throws(() => getNumber(md, "s"), named("s"));
  assert.throws(() => getStringArray(md, "i32"), named("i32"));
  assert.throws(() => getArray(md, "s"), named("s"));
  assert.throws(() => optString(md, "b"), named("b"));
});
