/**
 * GGUF reader fuzzer: seeded mutations of real files written by our writer and the test-model
 * factory. Every mutated file must either parse cleanly (and then every tensor must be readable)
 * or raise a GGUFError — any other exception, or a parse slower than the time limit, is a failure.
 *
 *   node .dist-gguf/test/fuzz/gguf-fuzz.js --iterations 100000 [--seed 7] [--out .fuzz-out]
 *
 * Mutations are aimed at the header (where the parser is): bit flips, byte sets, boundary values
 * written over the exact u32/u64 fields the parser reads (counts, lengths, types, dims, offsets),
 * truncations, deleted and duplicated byte ranges, stacked 1-4 at a time.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { GGUFError } from "../../src/errors.js";
import { Cursor } from "../../src/gguf/cursor.js";
import { parseHeader } from "../../src/gguf/parse.js";
import { parseGGUF } from "../../src/gguf/reader.js";
import { GGMLType } from "../../src/gguf/types.js";
import { GGUFValueType, typed } from "../../src/gguf/value.js";
import { GGUFWriter } from "../../src/gguf/writer.js";
import { buildTestModel } from "../../src/model/factory/index.js";
import { Rng } from "../../src/sampling/rng.js";

export interface FuzzOptions {
  iterations: number;
  seed?: number;
  /** Per-parse limit (fastest of up to 3 timings); slower parses count as failures. */
  maxMs?: number;
  /** Folder for failing inputs (written only on failure). */
  outDir?: string;
}

export interface FuzzFailure {
  iteration: number;
  seedFile: string;
  error: string;
  ms: number;
}

export interface FuzzStats {
  iterations: number;
  seed: number;
  cleanParses: number;
  ggufErrors: number;
  failures: FuzzFailure[];
  maxMs: number;
  totalMs: number;
  /** How often each distinct GGUFError message prefix occurred (coverage hint). */
  errorKinds: Map<string, number>;
}

interface SeedFile {
  name: string;
  bytes: Uint8Array;
  /** Offsets and sizes of every integer field the parser reads: targets for boundary values. */
  fields: { at: number; size: 4 | 8 }[];
  headerEnd: number;
}

/** Cursor that records where each u32/u64 field (string lengths included) sits in the file. */
class RecordingCursor extends Cursor {
  readonly fields: { at: number; size: 4 | 8 }[] = [];
  override u32(f: string): number {
    this.fields.push({ at: this.pos, size: 4 });
    return super.u32(f);
  }
  override u64(f: string): bigint {
    this.fields.push({ at: this.pos, size: 8 });
    return super.u64(f);
  }
  override string(f: string, index?: number): string {
    this.fields.push({ at: this.pos, size: 8 });
    return super.string(f, index);
  }
}

function seedFile(name: string, bytes: Uint8Array): SeedFile {
  const c = new RecordingCursor(bytes, bytes.length, name);
  const h = parseHeader(c);
  return { name, bytes, fields: c.fields, headerEnd: h.dataOffset };
}

/** Small, real GGUF files: factory models with a tokenizer, and one key of every value type. */
export function fuzzSeeds(): SeedFile[] {
  const small = { arch: "llama", nEmbd: 32, nLayer: 1, nHead: 2, nFf: 32, nVocab: 300, nCtx: 128 };
  const seeds = [
    seedFile("llama-f16", buildTestModel({ ...small, types: { weights: GGMLType.F16 } }).toBytes()),
    seedFile(
      "llama-f32-moe-align64",
      buildTestModel({
        ...small,
        nVocab: 260,
        moe: { nExpert: 2, nExpertUsed: 1 },
        metadata: { "general.alignment": 64 },
      }).toBytes(),
    ),
  ];
  seeds.push(
    seedFile("llama-q8_0", buildTestModel({ ...small, types: { weights: GGMLType.Q8_0 } }).toBytes()),
  );
  const w = new GGUFWriter();
  w.set("general.architecture", "llama");
  w.set("u8", typed(GGUFValueType.UINT8, 200));
  w.set("i16", typed(GGUFValueType.INT16, -7));
  w.set("f64", typed(GGUFValueType.FLOAT64, 0.5));
  w.set("i64", -5n);
  w.set("b", true);
  w.set("s", "▁text");
  w.set("a.f32", new Float32Array([1, 2, 3]));
  w.set("a.u64", new BigUint64Array([1n, 2n]));
  w.set("a.s", ["x", "yy", "zzz"]);
  w.set("a.b", [true, false]);
  w.set("a.nested", [new Int32Array([1, 2]), ["q"], [new Uint8Array([9])]]);
  w.addTensor("t0", GGMLType.F32, [8], new Uint8Array(32).fill(1));
  w.addTensor("t1", GGMLType.F16, [4, 2], new Uint8Array(16).fill(2));
  const types = w.toBytes();
  seeds.push(seedFile("every-type", types));
  const v2 = types.slice();
  v2[4] = 2; // GGUF v2 has the same layout as v3 for little-endian files
  seeds.push(seedFile("every-type-v2", v2));
  return seeds;
}

const U32_EDGES = [
  0, 1, 2, 3, 4, 5, 8, 12, 13, 31, 32, 33, 64, 0xff, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff,
];
const U64_EDGES = [
  0n,
  1n,
  2n,
  7n,
  8n,
  31n,
  32n,
  0xffn,
  0xffffn,
  0xffffffffn,
  0x100000000n,
  (1n << 53n) - 1n,
  1n << 53n,
  1n << 62n,
  (1n << 63n) - 1n,
  1n << 63n,
  (1n << 64n) - 1n,
];

export function mutate(seed: SeedFile, rng: Rng): Uint8Array {
  let b = seed.bytes.slice();
  const pick = (n: number) => Math.floor(rng.uniform() * n);
  // Positions mostly inside the header, sometimes anywhere.
  const pos = () =>
    rng.uniform() < 0.85
      ? pick(Math.max(1, Math.min(seed.headerEnd, b.length)))
      : pick(Math.max(1, b.length));
  const view = () => new DataView(b.buffer, b.byteOffset, b.byteLength);
  const nMut = 1 + pick(4);
  for (let m = 0; m < nMut; m++) {
    const kind = pick(9);
    if (b.length === 0) break;
    switch (kind) {
      case 0: {
        const p = pos();
        b[p] = b[p]! ^ (1 << pick(8));
        break;
      }
      case 1:
        b[pos()] = [0, 0xff, 0x7f, 0x80, pick(256)][pick(5)]!;
        break;
      case 2:
      case 3: {
        // Boundary value over a real field the parser reads.
        const f = seed.fields[pick(seed.fields.length)]!;
        if (f.at + f.size > b.length) break;
        if (f.size === 4) view().setUint32(f.at, U32_EDGES[pick(U32_EDGES.length)]!, true);
        else {
          const v =
            rng.uniform() < 0.2 ? BigInt(b.length - f.at + pick(16) - 8) : U64_EDGES[pick(U64_EDGES.length)]!;
          view().setBigUint64(f.at, BigInt.asUintN(64, v), true);
        }
        break;
      }
      case 4: {
        // Small delta on a field (off-by-one lengths and counts).
        const f = seed.fields[pick(seed.fields.length)]!;
        if (f.at + 4 > b.length) break;
        view().setUint32(f.at, (view().getUint32(f.at, true) + pick(5) - 2) >>> 0, true);
        break;
      }
      case 5:
        b = b.slice(0, pos());
        break;
      case 6: {
        // Delete a range.
        const a = pos();
        const e = Math.min(b.length, a + 1 + pick(64));
        const nb = new Uint8Array(b.length - (e - a));
        nb.set(b.subarray(0, a));
        nb.set(b.subarray(e), a);
        b = nb;
        break;
      }
      case 7: {
        // Duplicate a range (e.g. a kv pair or tensor info) in place.
        const a = pos();
        const e = Math.min(b.length, a + 1 + pick(256));
        const nb = new Uint8Array(b.length + (e - a));
        nb.set(b.subarray(0, e));
        nb.set(b.subarray(a), e);
        b = nb;
        break;
      }
      case 8: {
        // Random run of bytes.
        const a = pos();
        const e = Math.min(b.length, a + 1 + pick(16));
        for (let i = a; i < e; i++) b[i] = pick(256);
        break;
      }
    }
  }
  return b;
}

/** Parse one input; returns null on success or GGUFError, else the unexpected error. */
function tryParse(bytes: Uint8Array): { ok: boolean; err?: unknown } {
  try {
    const f = parseGGUF(bytes);
    let sum = 0;
    for (const t of f.tensors) sum += f.readTensorSync(t).length;
    if (sum < 0) throw new Error("unreachable");
    return { ok: true };
  } catch (e) {
    return { ok: false, err: e };
  }
}

export function runFuzz(opts: FuzzOptions): FuzzStats {
  const seed = opts.seed ?? 1;
  const maxAllowed = opts.maxMs ?? 100;
  const seeds = fuzzSeeds();
  const rng = Rng.stream(seed, 0xf022);
  const stats: FuzzStats = {
    iterations: 0,
    seed,
    cleanParses: 0,
    ggufErrors: 0,
    failures: [],
    maxMs: 0,
    totalMs: 0,
    errorKinds: new Map(),
  };
  for (let i = 0; i < opts.iterations; i++) {
    const s = seeds[i % seeds.length]!;
    const input = mutate(s, rng);
    let t0 = performance.now();
    const r = tryParse(input);
    let ms = performance.now() - t0;
    // A slow parse is re-timed: GC pauses and a loaded machine are noise, an input that is slow
    // every time (a hang, quadratic work) is a failure. The reported time is the fastest run.
    for (let retry = 0; retry < 2 && ms > maxAllowed; retry++) {
      t0 = performance.now();
      tryParse(input);
      ms = Math.min(ms, performance.now() - t0);
    }
    stats.iterations++;
    stats.totalMs += ms;
    stats.maxMs = Math.max(stats.maxMs, ms);
    let failure: string | undefined;
    if (r.ok) stats.cleanParses++;
    else if (r.err instanceof GGUFError) {
      stats.ggufErrors++;
      const kind = r.err.message
        .split(" (")[0]!
        .replace(/'[^']*'/g, "'X'")
        .replace(/0x[0-9a-f]+|\d+/gi, "N")
        .slice(0, 60);
      stats.errorKinds.set(kind, (stats.errorKinds.get(kind) ?? 0) + 1);
    } else failure = r.err instanceof Error ? `${r.err.name}: ${r.err.message}` : String(r.err);
    if (ms > maxAllowed) failure = (failure ? failure + "; " : "") + `slow parse: ${ms.toFixed(1)} ms`;
    if (failure) {
      stats.failures.push({ iteration: i, seedFile: s.name, error: failure, ms });
      if (opts.outDir) {
        mkdirSync(opts.outDir, { recursive: true });
        writeFileSync(join(opts.outDir, `fail-seed${seed}-iter${i}.gguf`), input);
      }
    }
  }
  return stats;
}

function parseArgs(argv: string[]): FuzzOptions {
  const o: FuzzOptions = { iterations: 10_000, outDir: ".fuzz-out" };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const v = argv[i + 1];
    if (a === "--iterations" && v) ((o.iterations = Number(v)), i++);
    else if (a === "--seed" && v) ((o.seed = Number(v)), i++);
    else if (a === "--max-ms" && v) ((o.maxMs = Number(v)), i++);
    else if (a === "--out" && v) ((o.outDir = v), i++);
    else throw new Error(`unknown argument ${a} (use --iterations N --seed S --max-ms M --out DIR)`);
  }
  if (!Number.isSafeInteger(o.iterations) || o.iterations < 0)
    throw new Error("--iterations must be a non-negative integer");
  return o;
}

// Script mode; `node --test` also executes every .js under test/, so stay quiet there.
const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (isMain && !process.env.NODE_TEST_CONTEXT) {
  const opts = parseArgs(process.argv.slice(2));
  const s = runFuzz(opts);
  const kinds = [...s.errorKinds].sort((a, b) => b[1] - a[1]);
  console.log(
    JSON.stringify(
      {
        iterations: s.iterations,
        seed: s.seed,
        cleanParses: s.cleanParses,
        ggufErrors: s.ggufErrors,
        failures: s.failures.length,
        maxMs: Number(s.maxMs.toFixed(2)),
        meanMs: Number((s.totalMs / Math.max(1, s.iterations)).toFixed(3)),
        distinctErrorKinds: kinds.length,
      },
      null,
      2,
    ),
  );
  for (const [k, n] of kinds) console.log(`${String(n).padStart(7)}  ${k}`);
  for (const f of s.failures.slice(0, 20))
    console.log(`FAIL iter ${f.iteration} (${f.seedFile}): ${f.error}`);
  if (s.failures.length > 0) process.exitCode = 1;
}
