// KernelSet.startWeight: a matrix written in row chunks (as loaders read it) is the same prepared
// weight as prepareWeight on the whole tensor, for every WASM weight type, in both layouts (i16
// and int8-dot) and with a row count that is not a multiple of 4 or of the chunk; out-of-order
// or short writes are KernelErrors.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { KernelError } from "../../src/errors.js";
import { GGMLType, ggmlRowBytes, ggmlTypeName } from "../../src/gguf/types.js";
import { createWasmKernelSet, type WasmKernelSet } from "../../src/kernels/wasm/wasm-kernel-set.js";
import { DOT8_TYPES } from "../../src/kernels/wasm/repack.js";
import { randomF32, randomWeight, WASM_WEIGHT_TYPES } from "./helpers.js";

const TYPES = WASM_WEIGHT_TYPES;
const sets: WasmKernelSet[] = [];
after(async () => {
  for (const s of sets) await s.dispose();
});

// true = the default int8-dot table; the list puts every type with an int8-dot layout in it
for (const dot8 of [false, true, [...DOT8_TYPES]]) {
  test(`row chunks = whole tensor, every type (dot8 ${Array.isArray(dot8) ? "all" : dot8})`, async () => {
    const ks = await createWasmKernelSet({ threads: 1, dot8 });
    sets.push(ks);
    const rows = 23;
    const cols = 512;
    for (const type of TYPES) {
      const name = ggmlTypeName(type);
      const data = randomWeight(type, rows, cols, 7 + type);
      const whole = ks.prepareWeight(type, data, rows, cols);
      if (!ks.takesRowChunks(type)) {
        assert.ok(Array.isArray(dot8) && type === GGMLType.Q8_0, `${name} refused`);
        continue;
      }
      const rb = ggmlRowBytes(type, cols);
      const wr = ks.startWeight(type, rows, cols, 8 * rb); // 8 rows per chunk: 8, 8, 7
      assert.equal(wr.chunkRows, 8);
      for (let r = 0; r < rows; r += wr.chunkRows)
        wr.write(r, data.slice(r * rb, Math.min(rows, r + wr.chunkRows) * rb));
      const chunked = wr.done();
      // the same products, bit for bit, and the same bytes in memory
      const x = ks.alloc(cols);
      x.set(randomF32(cols, 3));
      const y1 = ks.alloc(rows);
      const y2 = ks.alloc(rows);
      ks.matvec(whole, x, y1);
      ks.matvec(chunked, x, y2);
      assert.deepEqual(Array.from(y2), Array.from(y1), name);
      const a = whole as unknown as { ptr: number; bytes: number; dot8: boolean };
      const b = chunked as unknown as { ptr: number; bytes: number; dot8: boolean };
      assert.equal(b.bytes, a.bytes, name);
      assert.equal(b.dot8, a.dot8, name);
      const mem = new Uint8Array(ks.arena.memory.buffer);
      assert.ok(
        Buffer.from(mem.subarray(b.ptr, b.ptr + b.bytes)).equals(
          Buffer.from(mem.subarray(a.ptr, a.ptr + a.bytes)),
        ),
        `${name}: prepared bytes differ`,
      );
    }
  });
}

test("startWeight: writes out of order, of a wrong size or missing rows are KernelErrors", async () => {
  const ks = await createWasmKernelSet({ threads: 1, dot8: false });
  sets.push(ks);
  const rb = ggmlRowBytes(GGMLType.Q4_0, 64);
  const data = randomWeight(GGMLType.Q4_0, 12, 64, 1);
  const wr = ks.startWeight(GGMLType.Q4_0, 12, 64, 4 * rb);
  assert.throws(() => wr.write(4, data.slice(0, 4 * rb)), KernelError);
  assert.throws(() => wr.write(0, data.slice(0, 3 * rb)), KernelError);
  wr.write(0, data.slice(0, 4 * rb));
  assert.throws(() => wr.done(), KernelError);
  assert.throws(() => ks.startWeight(GGMLType.Q4_0, 12, 63), KernelError);
});
