/**
 * WasmArena.offsetOf must recognise every view it handed out as living in its memory, also after
 * ANOTHER shared memory of the process grew: V8 then gives this (ungrown) memory a new buffer
 * object, and views made on it were taken for foreign arrays (copied, or attention fell back to
 * TypeScript: a sharded model's logits were not bit-identical to one memory).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { WasmArena } from "../../src/kernels/wasm/arena.js";

test("views of an arena stay its own when another shared memory grows (and when it grows itself)", () => {
  const a = new WasmArena();
  const b = new WasmArena();
  const before = a.f32(a.alloc(64), 16);
  assert.equal(a.offsetOf(before), 65536);
  b.alloc(8 << 20); // grows b only
  const after = a.f32(a.alloc(64), 16);
  assert.equal(a.offsetOf(before), 65536, "a view made before the neighbour's growth");
  assert.equal(a.offsetOf(after), 65600, "a view made after the neighbour's growth");
  assert.equal(a.offsetOf(after.subarray(4)), 65616);
  // A view made straight on the current buffer object (not through f32/u8) is also ours.
  b.alloc(16 << 20);
  const direct = new Float32Array(a.memory.buffer, 65664, 4);
  assert.equal(a.offsetOf(direct), 65664);
  // Our own growth: old views and new ones.
  const big = a.f32(a.alloc(4 << 20), 8);
  assert.ok(a.offsetOf(big) > 65600);
  assert.equal(a.offsetOf(before), 65536);
  // Arrays of other memories or plain JS arrays are not.
  assert.equal(a.offsetOf(b.f32(b.alloc(64), 4)), -1);
  assert.equal(a.offsetOf(new Float32Array(4)), -1);
});
