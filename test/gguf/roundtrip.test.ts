import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GGUFWriter } from "../../src/gguf/writer.js";
import { openGGUF, parseGGUF, type GGUFFile } from "../../src/gguf/reader.js";
import { GGUFValueType, GGUF_ITEM_TYPE, typed } from "../../src/gguf/value.js";
import { GGMLType } from "../../src/gguf/types.js";
import { GGUFError } from "../../src/errors.js";
import { copyMetadata } from "../../src/gguf/copy.js";

/** One key per GGUF value type and array flavour, with boundary values. */
function everyTypeWriter(): GGUFWriter {
  const w = new GGUFWriter();
  w.set("general.architecture", "llama");
  w.set("t.u8", typed(GGUFValueType.UINT8, 255));
  w.set("t.i8", typed(GGUFValueType.INT8, -128));
  w.set("t.u16", typed(GGUFValueType.UINT16, 65535));
  w.set("t.i16", typed(GGUFValueType.INT16, -32768));
  w.set("t.u32", 4294967295);
  w.set("t.i32", -2147483648);
  w.set("t.f32", 0.1);
  w.set("t.f32int", typed(GGUFValueType.FLOAT32, 10000));
  w.set("t.bool", true);
  w.set("t.boolf", false);
  w.set("t.str", "héllo ▁wörld 🦙");
  w.set("t.empty_str", "");
  w.set("t.u64", (1n << 64n) - 1n);
  w.set("t.i64", -(1n << 63n));
  w.set("t.f64", typed(GGUFValueType.FLOAT64, Math.PI));
  w.set("a.u8", new Uint8Array([0, 1, 255]));
  w.set("a.i8", new Int8Array([-128, 0, 127]));
  w.set("a.u16", new Uint16Array([0, 65535]));
  w.set("a.i16", new Int16Array([-32768, 32767]));
  w.set("a.u32", new Uint32Array([0, 4294967295]));
  w.set("a.i32", new Int32Array([-1, 2, 3]));
  w.set("a.f32", new Float32Array([1.5, -0, Infinity, NaN]));
  w.set("a.u64", new BigUint64Array([0n, (1n << 64n) - 1n]));
  w.set("a.i64", new BigInt64Array([-(1n << 63n), 7n]));
  w.set("a.f64", new Float64Array([Math.E, -1e300]));
  w.set("a.bool", [true, false, true]);
  w.set("a.str", ["a", "", "▁b", "<0x0A>"]);
  w.set("a.empty_str", typed(GGUFValueType.ARRAY, [], GGUFValueType.STRING));
  w.set("a.empty_f32", new Float32Array(0));
  w.set("a.num", typed(GGUFValueType.ARRAY, [1, 2.5], GGUFValueType.FLOAT32));
  w.set("a.nested", [new Int32Array([1, 2]), ["x", "y"], [[true]]]);
  return w;
}

function rewrite(f: GGUFFile): GGUFWriter {
  const w = new GGUFWriter();
  copyMetadata(f, w);
  return w;
}

test("every metadata type round-trips through writer and reader exactly", () => {
  const bytes = everyTypeWriter().toBytes();
  const f = parseGGUF(bytes);
  const md = f.metadata;
  const T = GGUFValueType;
  assert.equal(f.version, 3);
  assert.equal(md.get("t.u8"), 255);
  assert.equal(f.metadataTypes.get("t.u8"), T.UINT8);
  assert.equal(md.get("t.i8"), -128);
  assert.equal(md.get("t.u16"), 65535);
  assert.equal(md.get("t.i16"), -32768);
  assert.equal(md.get("t.u32"), 4294967295);
  assert.equal(f.metadataTypes.get("t.u32"), T.UINT32);
  assert.equal(md.get("t.i32"), -2147483648);
  assert.equal(f.metadataTypes.get("t.i32"), T.INT32);
  assert.equal(md.get("t.f32"), Math.fround(0.1));
  assert.equal(f.metadataTypes.get("t.f32int"), T.FLOAT32);
  assert.equal(md.get("t.f32int"), 10000);
  assert.equal(md.get("t.bool"), true);
  assert.equal(md.get("t.boolf"), false);
  assert.equal(md.get("t.str"), "héllo ▁wörld 🦙");
  assert.equal(md.get("t.empty_str"), "");
  assert.equal(md.get("t.u64"), (1n << 64n) - 1n);
  assert.equal(f.metadataTypes.get("t.u64"), T.UINT64);
  assert.equal(md.get("t.i64"), -(1n << 63n));
  assert.equal(md.get("t.f64"), Math.PI);
  assert.deepEqual(md.get("a.u8"), new Uint8Array([0, 1, 255]));
  assert.deepEqual(md.get("a.i8"), new Int8Array([-128, 0, 127]));
  assert.deepEqual(md.get("a.u16"), new Uint16Array([0, 65535]));
  assert.deepEqual(md.get("a.i16"), new Int16Array([-32768, 32767]));
  assert.deepEqual(md.get("a.u32"), new Uint32Array([0, 4294967295]));
  assert.deepEqual(md.get("a.i32"), new Int32Array([-1, 2, 3]));
  assert.deepEqual(md.get("a.f32"), new Float32Array([1.5, -0, Infinity, NaN]));
  assert.deepEqual(md.get("a.u64"), new BigUint64Array([0n, (1n << 64n) - 1n]));
  assert.deepEqual(md.get("a.i64"), new BigInt64Array([-(1n << 63n), 7n]));
  assert.deepEqual(md.get("a.f64"), new Float64Array([Math.E, -1e300]));
  assert.deepEqual([...(md.get("a.bool") as boolean[])], [true, false, true]);
  assert.equal(f.metadataItemTypes.get("a.bool"), T.BOOL);
  assert.deepEqual([...(md.get("a.str") as string[])], ["a", "", "▁b", "<0x0A>"]);
  assert.equal(f.metadataItemTypes.get("a.str"), T.STRING);
  assert.equal((md.get("a.empty_str") as string[]).length, 0);
  assert.equal(f.metadataItemTypes.get("a.empty_str"), T.STRING);
  assert.deepEqual(md.get("a.num"), new Float32Array([1, 2.5]));
  const nested = md.get("a.nested") as unknown[];
  assert.equal(f.metadataItemTypes.get("a.nested"), T.ARRAY);
  assert.deepEqual(nested[0], new Int32Array([1, 2]));
  assert.deepEqual([...(nested[1] as string[])], ["x", "y"]);
  assert.equal((nested[2] as { [GGUF_ITEM_TYPE]: number })[GGUF_ITEM_TYPE], T.ARRAY);
  // Order of keys is the order of set().
  assert.equal([...md.keys()][0], "general.architecture");
  // A pooled Node Buffer (non-zero byteOffset into a shared ArrayBuffer) parses the same.
  const pooled = Buffer.concat([Buffer.from("xyz"), bytes]).subarray(3);
  assert.ok(pooled.byteOffset !== 0 || pooled.buffer.byteLength !== pooled.length);
  assert.deepEqual(parseGGUF(pooled).metadata, md);
  // Writing the parsed metadata back gives the same bytes.
  assert.deepEqual(rewrite(f).toBytes(), bytes);
});

test("tensors: data, offsets and alignment padding as ggml lays them out", async () => {
  for (const alignment of [32, 64, 1]) {
    const w = new GGUFWriter();
    if (alignment !== 32) w.set("general.alignment", alignment);
    const a = new Uint8Array(3 * 4).map((_, i) => i); // F32 [3]: 12 bytes, padded to the alignment
    const b = new Uint8Array(34 * 2).map((_, i) => 255 - i); // Q8_0 [32, 2]
    const z = new Uint8Array(0);
    w.addTensor("a", GGMLType.F32, [3], a);
    w.addTensor("b", GGMLType.Q8_0, [32, 2], () => b);
    w.addTensor("zero", GGMLType.F16, [0, 4], z);
    const bytes = w.toBytes();
    const f = parseGGUF(bytes);
    assert.equal(f.alignment, alignment);
    assert.equal(f.dataOffset % alignment, 0);
    const [ta, tb, tz] = f.tensors;
    assert.deepEqual(ta, { name: "a", dims: [3], type: GGMLType.F32, offset: 0, nElements: 3, nBytes: 12 });
    assert.equal(tb!.offset, Math.ceil(12 / alignment) * alignment);
    assert.deepEqual(tb!.dims, [32, 2]);
    assert.equal(tb!.nBytes, 68);
    assert.equal(tz!.nBytes, 0);
    assert.deepEqual(f.readTensorSync("a"), a);
    assert.deepEqual(await f.readTensor(tb!), b);
    assert.equal(bytes.length, f.dataOffset + tb!.offset + Math.ceil(68 / alignment) * alignment);

    // The streamed file is byte-identical to toBytes(), and openGGUF agrees with parseGGUF.
    const dir = mkdtempSync(join(tmpdir(), "gguf-rt-"));
    try {
      const p = join(dir, "t.gguf");
      await w.write(p);
      const g = await openGGUF(p);
      try {
        assert.equal(g.fileSize, bytes.length);
        assert.deepEqual(g.tensors, f.tensors);
        assert.deepEqual(await g.readTensor("b"), b);
        assert.deepEqual(g.readTensorSync("a"), a);
        await assert.rejects(g.readTensor("nope"), GGUFError);
      } finally {
        await g.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
});

test("openGGUF reads a header larger than its first chunk", async () => {
  const w = new GGUFWriter();
  // ~3 MiB of strings: forces the reader to grow its header buffer twice.
  const tokens = Array.from({ length: 150_000 }, (_, i) => `▁tok${i}`);
  w.set("tokenizer.ggml.tokens", tokens);
  w.addTensor("x", GGMLType.F32, [4], new Uint8Array(16).fill(7));
  const dir = mkdtempSync(join(tmpdir(), "gguf-big-"));
  try {
    const p = join(dir, "big.gguf");
    await w.write(p);
    const g = await openGGUF(p);
    try {
      assert.ok(g.dataOffset > 2 << 20);
      assert.deepEqual([...(g.metadata.get("tokenizer.ggml.tokens") as string[])].slice(-1), ["▁tok149999"]);
      assert.deepEqual(await g.readTensor("x"), new Uint8Array(16).fill(7));
    } finally {
      await g.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("writer rejects duplicates, bad values and bad shapes", () => {
  const w = new GGUFWriter();
  w.set("k", 1);
  assert.throws(() => w.set("k", 2), GGUFError);
  assert.throws(() => w.set("big", 2 ** 40), GGUFError);
  assert.throws(() => w.set("u8", typed(GGUFValueType.UINT8, 256)), GGUFError);
  assert.throws(() => w.set("nums", [1, 2] as unknown as string[]), GGUFError);
  assert.throws(() => w.set("empty", []), GGUFError);
  assert.throws(() => w.set("general.alignment", 48), GGUFError);
  assert.throws(() => w.set("general.alignment", typed(GGUFValueType.UINT64, 32n)), GGUFError);
  w.addTensor("t", GGMLType.F32, [2], new Uint8Array(8));
  assert.throws(() => w.addTensor("t", GGMLType.F32, [2], new Uint8Array(8)), GGUFError);
  assert.throws(() => w.addTensor("q", GGMLType.Q4_0, [16], new Uint8Array(9)), GGUFError);
  assert.throws(() => w.addTensor("s", GGMLType.F32, [3], new Uint8Array(8)), GGUFError);
  assert.throws(() => w.addTensor("x".repeat(64), GGMLType.F32, [2], new Uint8Array(8)), GGUFError);
  assert.throws(() => w.addTensor("d", GGMLType.F32, [1, 1, 1, 1, 1], new Uint8Array(4)), GGUFError);
});

test("openGGUF on a missing file is a GGUFError", async () => {
  await assert.rejects(openGGUF("/nonexistent/x.gguf"), GGUFError);
  const dir = mkdtempSync(join(tmpdir(), "gguf-e-"));
  try {
    writeFileSync(join(dir, "e.gguf"), new Uint8Array(0));
    await assert.rejects(openGGUF(join(dir, "e.gguf")), /truncated file/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
