/**
 * A sparse file larger than 4 GiB: offsets past 2^32 must survive (u64 offsets, no 32-bit math,
 * no whole-file buffer). Takes no real disk space; skipped if the filesystem refuses the size.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { open } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ByteSink } from "../../src/gguf/encode.js";
import { openGGUF } from "../../src/gguf/reader.js";
import { GGMLType } from "../../src/gguf/types.js";

test("tensor data beyond 4 GiB is located and read exactly", async (t) => {
  const bigElems = 2 ** 30 + 8; // F32: 4 GiB + 32 bytes
  const smallOffset = Math.ceil((bigElems * 4) / 32) * 32; // aligned to 32 after the big tensor (no 32-bit &)
  const s = new ByteSink();
  s.u32(0x46554747);
  s.u32(3);
  s.u64(2n);
  s.u64(0n);
  for (const [name, n, off] of [
    ["big", bigElems, 0],
    ["small", 4, smallOffset],
  ] as const) {
    s.string(name);
    s.u32(1);
    s.u64(BigInt(n));
    s.u32(GGMLType.F32);
    s.u64(BigInt(off));
  }
  s.zeros((32 - (s.length % 32)) % 32);
  const header = s.result();
  const dataOffset = header.length;
  const small = new Uint8Array(16).map((_, i) => 200 + i);

  const dir = mkdtempSync(join(tmpdir(), "gguf-4g-"));
  const p = join(dir, "big.gguf");
  try {
    const fh = await open(p, "w");
    try {
      await fh.write(header, 0, header.length, 0);
      await fh.write(small, 0, small.length, dataOffset + smallOffset);
    } catch (e) {
      t.skip(`filesystem refused a sparse 4 GiB file: ${(e as Error).message}`);
      return;
    } finally {
      await fh.close();
    }
    const g = await openGGUF(p);
    try {
      assert.ok(g.fileSize > 2 ** 32);
      const info = g.tensorByName("small")!;
      assert.equal(info.offset, smallOffset);
      assert.ok(g.dataOffset + info.offset > 2 ** 32);
      assert.deepEqual(await g.readTensor(info), small);
      assert.deepEqual(g.readTensorSync("small"), small);
      assert.equal(g.tensorByName("big")!.nBytes, bigElems * 4);
    } finally {
      await g.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
