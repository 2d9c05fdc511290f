// A small random-weight llama GGUF (factory) loaded once per test file, with its tokenizer.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openGGUF } from "../../src/gguf/reader.js";
import { writeTestModel, type TestModelSpec } from "../../src/model/factory/index.js";
import { loadFromFile, type Transformer } from "../../src/model/index.js";
import { Tokenizer } from "../../src/tokenizer/tokenizer.js";

export const SMALL: TestModelSpec = {
  arch: "llama",
  nEmbd: 64,
  nLayer: 2,
  nHead: 4,
  nHeadKv: 2,
  nFf: 96,
  nCtx: 256,
  nVocab: 400,
  seed: 5,
};

export async function smallModel(
  spec: TestModelSpec = SMALL,
): Promise<{ model: Transformer; tokenizer: Tokenizer; path: string; cleanup: () => void }> {
  const dir = mkdtempSync(join(tmpdir(), "engine-"));
  const path = join(dir, "m.gguf");
  await writeTestModel(path, spec);
  const file = await openGGUF(path);
  try {
    const model = loadFromFile(file);
    const tokenizer = Tokenizer.fromMetadata(file.metadata);
    return { model, tokenizer, path, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
  } finally {
    await file.close();
  }
}

/** Deterministic pseudo-random prompt of n token ids in [3, nVocab). */
export function prompt(n: number, seed: number, nVocab = 400): number[] {
  let x = seed * 2654435761;
  return Array.from({ length: n }, () => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    return 3 + (x % (nVocab - 3));
  });
}
