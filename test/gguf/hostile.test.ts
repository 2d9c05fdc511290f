/**
 * Hand-built malformed GGUF files: each must be rejected with a GGUFError whose context names the
 * offset and the field, before any large allocation.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { ByteSink } from "../../src/gguf/encode.js";
import { parseGGUF } from "../../src/gguf/reader.js";
import { GGUFValueType } from "../../src/gguf/value.js";
import { GGMLType } from "../../src/gguf/types.js";
import { GGUFError } from "../../src/errors.js";

interface RawTensor {
  name: string;
  dims: bigint[];
  type: number;
  offset: bigint;
}

/** A raw file: header fields given verbatim so tests can lie in any of them. */
function raw(opts: {
  magic?: number;
  version?: number;
  nTensors?: bigint;
  nKv?: bigint;
  kv?: (s: ByteSink) => void;
  tensors?: RawTensor[];
  dataBytes?: number;
  alignment?: number;
}): Uint8Array {
  const s = new ByteSink();
  const tensors = opts.tensors ?? [];
  s.u32(opts.magic ?? 0x46554747);
  s.u32(opts.version ?? 3);
  s.u64(opts.nTensors ?? BigInt(tensors.length));
  s.u64(opts.nKv ?? 0n);
  opts.kv?.(s);
  for (const t of tensors) {
    s.string(t.name);
    s.u32(t.dims.length);
    for (const d of t.dims) s.u64(d);
    s.u32(t.type);
    s.u64(t.offset);
  }
  const a = opts.alignment ?? 32;
  if (tensors.length > 0) s.zeros((a - (s.length % a)) % a);
  s.zeros(opts.dataBytes ?? 0);
  return s.result();
}

function kvU32(key: string, v: number) {
  return (s: ByteSink) => {
    s.string(key);
    s.u32(GGUFValueType.UINT32);
    s.u32(v);
  };
}

/** Assert a GGUFError whose message matches `msg` and whose context has the given field/offset. */
function rejects(bytes: Uint8Array, msg: RegExp, ctx: { field?: string | RegExp; offset?: number } = {}) {
  let err: unknown;
  try {
    parseGGUF(bytes);
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof GGUFError, `expected GGUFError, got ${String(err)}`);
  assert.match(err.message, msg);
  assert.equal(typeof err.context.offset, "number", "error context names an offset");
  if (ctx.offset !== undefined) assert.equal(err.context.offset, ctx.offset);
  if (ctx.field instanceof RegExp) assert.match(err.context.field ?? "", ctx.field);
  else if (ctx.field !== undefined) assert.equal(err.context.field, ctx.field);
}

const F32x4: RawTensor = { name: "w", dims: [4n], type: GGMLType.F32, offset: 0n };

test("valid raw file parses (the builder itself is right)", () => {
  const f = parseGGUF(raw({ tensors: [F32x4], dataBytes: 16, nKv: 1n, kv: kvU32("a.b", 7) }));
  assert.equal(f.metadata.get("a.b"), 7);
  assert.equal(f.tensors[0]!.nBytes, 16);
  assert.equal(parseGGUF(raw({ version: 2 })).version, 2);
});

test("magic, version, endianness, truncation", () => {
  rejects(raw({ magic: 0x46554746 }), /bad magic/, { field: "magic", offset: 0 });
  rejects(raw({ version: 1 }), /unsupported version 1/, { field: "version", offset: 4 });
  rejects(raw({ version: 4 }), /unsupported version 4/, { field: "version" });
  rejects(raw({ version: 0x03000000 }), /byte-swapped/, { field: "version" });
  rejects(new Uint8Array(0), /truncated/, { field: "magic", offset: 0 });
  rejects(raw({}).subarray(0, 20), /truncated/, { field: "n_kv", offset: 16 });
  const ok = raw({ tensors: [F32x4], dataBytes: 16, nKv: 1n, kv: kvU32("a.b", 7) });
  for (let cut = 0; cut < ok.length; cut++) assert.throws(() => parseGGUF(ok.subarray(0, cut)), GGUFError);
});

test("absurd counts and lengths are rejected before allocation", () => {
  rejects(raw({ nKv: 1n << 62n }), /count .* exceeds/, { field: "n_kv", offset: 16 });
  rejects(raw({ nTensors: 0xffffffffffffffffn }), /count .* exceeds/, { field: "n_tensors", offset: 8 });
  const hugeKey = (s: ByteSink) => s.u64(1n << 60n);
  rejects(raw({ nKv: 1n, kv: hugeKey, dataBytes: 32 }), /string length .* exceeds/, {
    field: "kv[0].key",
    offset: 24,
  });
  const hugeArr = (s: ByteSink) => {
    s.string("arr");
    s.u32(GGUFValueType.ARRAY);
    s.u32(GGUFValueType.FLOAT32);
    s.u64(1n << 40n);
  };
  rejects(raw({ nKv: 1n, kv: hugeArr }), /count .* exceeds/, { field: "arr" });
  const hugeStrArr = (s: ByteSink) => {
    s.string("toks");
    s.u32(GGUFValueType.ARRAY);
    s.u32(GGUFValueType.STRING);
    s.u64(2n);
    s.string("ok");
    s.u64(1n << 50n);
  };
  rejects(raw({ nKv: 1n, kv: hugeStrArr }), /string length/, { field: "toks[1]" });
  const deep = (s: ByteSink) => {
    s.string("deep");
    s.u32(GGUFValueType.ARRAY);
    for (let i = 0; i < 100; i++) {
      s.u32(GGUFValueType.ARRAY);
      s.u64(1n);
    }
  };
  rejects(raw({ nKv: 1n, kv: deep }), /nested deeper/, { field: /^deep/ });
});

test("bad keys and value types", () => {
  const dup = (s: ByteSink) => {
    kvU32("k", 1)(s);
    kvU32("k", 2)(s);
  };
  rejects(raw({ nKv: 2n, kv: dup }), /duplicate metadata key 'k'/, { field: "k" });
  const unknownType = (s: ByteSink) => {
    s.string("k");
    s.u32(13);
  };
  rejects(raw({ nKv: 1n, kv: unknownType, dataBytes: 32 }), /unknown metadata value type 13/, { field: "k" });
  const unknownItem = (s: ByteSink) => {
    s.string("k");
    s.u32(GGUFValueType.ARRAY);
    s.u32(99);
    s.u64(0n);
  };
  rejects(raw({ nKv: 1n, kv: unknownItem, dataBytes: 32 }), /unknown array item type 99/, { field: "k" });
  const empty = (s: ByteSink) => kvU32("", 1)(s);
  rejects(raw({ nKv: 1n, kv: empty, dataBytes: 32 }), /empty/, { offset: 24 });
  rejects(raw({ nKv: 1n, kv: kvU32("general.alignment", 48) }), /not a power of two/, {
    field: "general.alignment",
  });
  rejects(raw({ nKv: 1n, kv: kvU32("general.alignment", 0) }), /not a power of two/);
  const alignStr = (s: ByteSink) => {
    s.string("general.alignment");
    s.u32(GGUFValueType.STRING);
    s.string("32");
  };
  rejects(raw({ nKv: 1n, kv: alignStr }), /must be UINT32/, { field: "general.alignment" });
});

test("bad tensor infos", () => {
  const t = (over: Partial<RawTensor>, dataBytes = 64, extra: RawTensor[] = []) =>
    raw({ tensors: [{ ...F32x4, ...over }, ...extra], dataBytes });
  rejects(t({ dims: [1n, 1n, 1n, 1n, 1n] }), /n_dims 5 > 4/, { field: "tensor 'w'.n_dims" });
  rejects(t({ type: 4 }), /unknown ggml type 4/, { field: "tensor 'w'.type" });
  rejects(t({ type: 1000 }), /unknown ggml type/);
  rejects(t({ dims: [1n << 63n] }), /out of range/, { field: "tensor 'w'.dims[0]" });
  rejects(t({ dims: [1n << 30n, 1n << 30n] }), /overflows 2\^53/, { field: "tensor 'w'.dims" });
  rejects(t({ dims: [33n], type: GGMLType.Q8_0 }), /not a multiple of the Q8_0 block size 32/, {
    field: "tensor 'w'.dims[0]",
  });
  rejects(t({ offset: 4n }), /not a multiple of the alignment/, { field: "tensor 'w'.offset" });
  rejects(t({ offset: 64n }), /beyond end of file/, { field: "tensor 'w'" });
  rejects(t({ offset: 1n << 62n }), /out of range|beyond end of file/);
  rejects(t({ dims: [1000n] }), /beyond end of file/);
  rejects(t({}, 64, [{ ...F32x4 }]), /duplicate tensor name 'w'/, { field: "tensor 'w'" });
  rejects(t({ dims: [16n] }, 128, [{ ...F32x4, name: "v", offset: 32n }]), /overlaps/, {
    field: "tensor 'v'",
  });
  rejects(t({ name: "x".repeat(64) }), /longer than 63/);
  rejects(t({ name: "" }), /empty name/);
  // Gaps and any order are allowed (only overlap is an error).
  const f = parseGGUF(t({ offset: 32n }, 64, [{ ...F32x4, name: "v", offset: 0n }]));
  assert.deepEqual(
    f.tensors.map((x) => x.offset),
    [32, 0],
  );
});

test("invalid UTF-8 decodes exactly as TextDecoder with replacement", () => {
  const dec = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });
  let seed = 12345;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 0xff;
  const pieces = [
    [0xe2, 0x96, 0x81],
    [0xf0, 0x9f, 0xa6, 0x99],
    [0xc3, 0xa9],
    [0xed, 0xa0, 0x80],
    [0xc0, 0x80],
    [0xff],
    [0x41],
  ];
  for (let iter = 0; iter < 3000; iter++) {
    const bytes: number[] = [];
    const n = 1 + (rnd() % 12);
    for (let i = 0; i < n; i++) {
      const p = pieces[rnd() % pieces.length]!;
      bytes.push(...(rnd() % 5 === 0 ? p.slice(0, 1 + (rnd() % p.length)) : p));
      if (rnd() % 7 === 0) bytes.push(rnd());
    }
    const s = raw({
      nKv: 1n,
      kv: (b) => {
        b.string("s");
        b.u32(GGUFValueType.STRING);
        b.u64(BigInt(bytes.length));
        b.bytes(new Uint8Array(bytes));
      },
    });
    assert.equal(parseGGUF(s).metadata.get("s"), dec.decode(new Uint8Array(bytes)));
  }
});
