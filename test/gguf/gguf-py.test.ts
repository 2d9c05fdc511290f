/**
 * Cross-check against gguf-py (llama.cpp's Python GGUF library, a reader and writer we did not
 * write): files we write read back identically there, and files it writes read identically here.
 * Skipped when python3 with numpy or the llama.cpp checkout is unavailable.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GGUFWriter } from "../../src/gguf/writer.js";
import { parseGGUF } from "../../src/gguf/reader.js";
import { GGUFValueType, typed } from "../../src/gguf/value.js";
import { GGMLType } from "../../src/gguf/types.js";

const GGUF_PY = process.env.GGUF_PY ?? "/work/llama.cpp/gguf-py";
const probe = spawnSync("python3", ["-c", "import gguf, numpy"], {
  env: { ...process.env, PYTHONPATH: GGUF_PY },
});
const skip =
  !existsSync(GGUF_PY) || probe.status !== 0
    ? "gguf-py (python3 + numpy + llama.cpp/gguf-py) unavailable"
    : false;

function py(script: string, ...args: string[]): string {
  const r = spawnSync("python3", ["-c", script, ...args], {
    env: { ...process.env, PYTHONPATH: GGUF_PY },
    encoding: "utf8",
  });
  if (r.status !== 0) throw new Error(`python failed: ${r.stderr}`);
  return r.stdout;
}

const READ = `
import sys, json, gguf
r = gguf.GGUFReader(sys.argv[1])
def enc(v):
    if isinstance(v, list): return [enc(x) for x in v]
    if isinstance(v, int) and not isinstance(v, bool) and abs(v) >= 2**53: return str(v)
    return v
out = {"fields": {}, "tensors": []}
for f in r.fields.values():
    if f.name.startswith("GGUF."): continue
    out["fields"][f.name] = {"types": [int(t) for t in f.types], "value": enc(f.contents())}
for t in r.tensors:
    out["tensors"].append({"name": t.name, "type": int(t.tensor_type), "shape": [int(x) for x in t.shape],
        "n_bytes": int(t.n_bytes), "data_offset": int(t.data_offset), "data": list(bytes(t.data.tobytes()))})
print(json.dumps(out))
`;

const WRITE = String.raw`
import sys, numpy as np, gguf
from gguf import GGUFValueType as T
w = gguf.GGUFWriter(sys.argv[1], "llama")
w.add_key_value("t.u8", 250, T.UINT8); w.add_key_value("t.i8", -100, T.INT8)
w.add_key_value("t.u16", 65000, T.UINT16); w.add_key_value("t.i16", -30000, T.INT16)
w.add_key_value("t.u32", 4000000000, T.UINT32); w.add_key_value("t.i32", -2000000000, T.INT32)
w.add_key_value("t.f32", 0.25, T.FLOAT32); w.add_key_value("t.bool", True, T.BOOL)
w.add_key_value("t.str", "h\u00e9llo \u2581w\U0001F999", T.STRING)
w.add_key_value("t.u64", 2**64 - 1, T.UINT64); w.add_key_value("t.i64", -2**63, T.INT64)
w.add_key_value("t.f64", 1.0/3.0, T.FLOAT64)
w.add_key_value("a.i32", [1, -2, 3], T.ARRAY, T.INT32)
w.add_key_value("a.f32", [0.5, -1.5], T.ARRAY, T.FLOAT32)
w.add_key_value("a.str", ["a", "\u2581b", ""], T.ARRAY, T.STRING)
w.add_key_value("a.bool", [True, False], T.ARRAY, T.BOOL)
w.add_key_value("a.u64", [2**64 - 1, 0], T.ARRAY, T.UINT64)
w.add_tensor("x", np.arange(6, dtype=np.float32).reshape(2, 3))
w.add_tensor("h", np.arange(64, dtype=np.float16).reshape(2, 32))
w.write_header_to_file(); w.write_kv_data_to_file(); w.write_tensors_to_file(); w.close()
`;

test("gguf-py reads our files exactly", { skip }, () => {
  const w = new GGUFWriter();
  w.set("general.architecture", "llama");
  w.set("t.u8", typed(GGUFValueType.UINT8, 255));
  w.set("t.i16", typed(GGUFValueType.INT16, -32768));
  w.set("t.u32", 4294967295);
  w.set("t.i32", -5);
  w.set("t.f32", 0.5);
  w.set("t.f64", typed(GGUFValueType.FLOAT64, 0.1));
  w.set("t.bool", false);
  w.set("t.str", "▁wörld 🦙");
  w.set("t.u64", (1n << 64n) - 1n);
  w.set("t.i64", -(1n << 63n));
  w.set("a.i32", new Int32Array([7, -8]));
  w.set("a.f32", new Float32Array([0.25, 2]));
  w.set("a.str", ["<s>", "▁x", ""]);
  w.set("a.bool", [false, true]);
  w.set("a.i64", new BigInt64Array([-1n, 1n << 62n]));
  w.set("general.alignment", 64);
  const d1 = new Uint8Array(12).map((_, i) => i + 1);
  const d2 = new Uint8Array(34 * 3).map((_, i) => (i * 7) & 0xff);
  w.addTensor("a", GGMLType.F32, [3], d1);
  w.addTensor("b", GGMLType.Q8_0, [32, 3], d2);
  const dir = mkdtempSync(join(tmpdir(), "ggufpy-"));
  try {
    const p = join(dir, "ours.gguf");
    const bytes = w.toBytes();
    writeFileSync(p, bytes);
    const r = JSON.parse(py(READ, p));
    const T = GGUFValueType;
    const f = r.fields;
    assert.deepEqual(f["t.u8"], { types: [T.UINT8], value: 255 });
    assert.deepEqual(f["t.i16"], { types: [T.INT16], value: -32768 });
    assert.deepEqual(f["t.u32"], { types: [T.UINT32], value: 4294967295 });
    assert.deepEqual(f["t.i32"], { types: [T.INT32], value: -5 });
    assert.deepEqual(f["t.f32"], { types: [T.FLOAT32], value: 0.5 });
    assert.deepEqual(f["t.f64"], { types: [T.FLOAT64], value: 0.1 });
    assert.deepEqual(f["t.bool"], { types: [T.BOOL], value: false });
    assert.deepEqual(f["t.str"], { types: [T.STRING], value: "▁wörld 🦙" });
    assert.deepEqual(f["t.u64"], { types: [T.UINT64], value: "18446744073709551615" });
    assert.deepEqual(f["t.i64"], { types: [T.INT64], value: "-9223372036854775808" });
    assert.deepEqual(f["a.i32"], { types: [T.ARRAY, T.INT32], value: [7, -8] });
    assert.deepEqual(f["a.f32"], { types: [T.ARRAY, T.FLOAT32], value: [0.25, 2] });
    assert.deepEqual(f["a.str"], { types: [T.ARRAY, T.STRING], value: ["<s>", "▁x", ""] });
    assert.deepEqual(f["a.bool"], { types: [T.ARRAY, T.BOOL], value: [false, true] });
    assert.deepEqual(f["a.i64"], { types: [T.ARRAY, T.INT64], value: [-1, String(1n << 62n)] });
    assert.deepEqual(f["general.alignment"], { types: [T.UINT32], value: 64 });
    const ours = parseGGUF(bytes);
    assert.equal(r.tensors.length, 2);
    for (const t of r.tensors) {
      const o = ours.tensorByName(t.name)!;
      assert.equal(t.type, o.type);
      assert.deepEqual(t.shape, o.dims);
      assert.equal(t.n_bytes, o.nBytes);
      assert.equal(t.data_offset, ours.dataOffset + o.offset);
      assert.deepEqual(new Uint8Array(t.data), ours.readTensorSync(o));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("our reader reads gguf-py files exactly", { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), "ggufpy-"));
  try {
    const p = join(dir, "theirs.gguf");
    py(WRITE, p);
    const f = parseGGUF(readFileSync(p));
    const md = f.metadata;
    const T = GGUFValueType;
    assert.equal(md.get("general.architecture"), "llama");
    assert.equal(md.get("t.u8"), 250);
    assert.equal(md.get("t.i8"), -100);
    assert.equal(md.get("t.u16"), 65000);
    assert.equal(md.get("t.i16"), -30000);
    assert.equal(md.get("t.u32"), 4000000000);
    assert.equal(md.get("t.i32"), -2000000000);
    assert.equal(md.get("t.f32"), 0.25);
    assert.equal(md.get("t.bool"), true);
    assert.equal(md.get("t.str"), "héllo ▁w🦙");
    assert.equal(md.get("t.u64"), (1n << 64n) - 1n);
    assert.equal(md.get("t.i64"), -(1n << 63n));
    assert.equal(md.get("t.f64"), 1 / 3);
    assert.equal(f.metadataTypes.get("t.f64"), T.FLOAT64);
    assert.deepEqual(md.get("a.i32"), new Int32Array([1, -2, 3]));
    assert.deepEqual(md.get("a.f32"), new Float32Array([0.5, -1.5]));
    assert.deepEqual([...(md.get("a.str") as string[])], ["a", "▁b", ""]);
    assert.deepEqual([...(md.get("a.bool") as boolean[])], [true, false]);
    assert.deepEqual(md.get("a.u64"), new BigUint64Array([(1n << 64n) - 1n, 0n]));
    const x = f.tensorByName("x")!;
    assert.deepEqual(x.dims, [3, 2]); // numpy shape (2, 3) -> ggml ne = [3, 2]
    assert.equal(x.type, GGMLType.F32);
    const xv = f.readTensorSync(x);
    assert.deepEqual(new Float32Array(xv.slice().buffer), new Float32Array([0, 1, 2, 3, 4, 5]));
    const h = f.tensorByName("h")!;
    assert.deepEqual(h.dims, [32, 2]);
    assert.equal(h.type, GGMLType.F16);
    assert.equal(h.nBytes, 128);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
