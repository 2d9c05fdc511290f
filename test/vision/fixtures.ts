/**
 * The vision goldens in test/golden/vision (written by scripts/mtmd-golden.mjs from llama.cpp's
 * llama-mtmd-cli): cases.json, the PPM images llama.cpp read, and its embedding dumps.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ggmlTypeFromName } from "../../src/gguf/types.js";
import type { TestModelSpec } from "../../src/model/factory/index.js";
import type { TestMmprojSpec } from "../../src/model/factory/mmproj.js";
import type { RgbImage } from "../../src/vision/image.js";

export const GOLDEN_DIR = "test/golden/vision";

export interface GoldenCase {
  name: string;
  about: string;
  mmproj: TestMmprojSpec;
  lm: TestModelSpec;
  image: string;
  /** Our engine's greedy tokens change when this case's image rows are attended causally. */
  nonCausalMatters?: boolean;
}

/** cases.json with ggml type names ("F16") resolved to GGMLType. */
export function loadCases(): GoldenCase[] {
  const m = JSON.parse(readFileSync(join(GOLDEN_DIR, "cases.json"), "utf8")) as { cases: GoldenCase[] };
  return m.cases.map((c) => {
    const mm = { ...c.mmproj } as Record<string, unknown>;
    for (const k of ["weightType", "patchType"]) {
      if (typeof mm[k] === "string") mm[k] = ggmlTypeFromName(mm[k] as string);
    }
    return { ...c, mmproj: mm as unknown as TestMmprojSpec };
  });
}

/** A binary PPM (P6, maxval 255) as RGB. */
export function readPpm(path: string): RgbImage {
  const b = readFileSync(path);
  const fields: string[] = [];
  let i = 0;
  while (fields.length < 4) {
    while (/\s/.test(String.fromCharCode(b[i]!))) i++;
    let s = "";
    while (!/\s/.test(String.fromCharCode(b[i]!))) s += String.fromCharCode(b[i++]!);
    fields.push(s);
  }
  i++; // the single whitespace byte after maxval
  const [magic, w, h, max] = fields;
  if (magic !== "P6" || max !== "255") throw new Error(`${path}: not a P6/255 PPM`);
  const width = Number(w);
  const height = Number(h);
  return { width, height, data: new Uint8Array(b.subarray(i, i + width * height * 3)) };
}

/** llama.cpp's MTMD_DEBUG_EMBEDDINGS dump: int32 n_tokens, int32 n_embd, f32 data. */
export function readEmbeddingDump(path: string): { nTokens: number; nEmbd: number; data: Float32Array } {
  const b = readFileSync(path);
  const copy = new Uint8Array(b).buffer;
  const [nTokens, nEmbd] = new Int32Array(copy, 0, 2);
  return { nTokens: nTokens!, nEmbd: nEmbd!, data: new Float32Array(copy, 8, nTokens! * nEmbd!) };
}

export function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

export function maxAbs(a: Float32Array): number {
  let m = 0;
  for (const v of a) m = Math.max(m, Math.abs(v));
  return m;
}
