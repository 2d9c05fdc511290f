/**
 * The 1 MB mixed-script text (SentencePiece and byte-level BPE) with ids equal to llama.cpp's; we
 * print the time ratio against llama.cpp's tokenizer (node-llama-cpp model.tokenize) on the same
 * text but assert no time (figures: bench/test-speeds.ts and the five-vocabulary table with
 * medians, throughput-table.ts).
 */
import assert from "node:assert/strict";
import { Tokenizer } from "../../src/tokenizer/tokenizer.js";
import type { LlamaVocabModel } from "./conformance.js";
import { convertVocab, type VocabName } from "./helpers.js";
import { megabyteText } from "./megabyte.js";

/** Vocabularies timed against llama.cpp in the test run (one BPE, one SentencePiece). */
export const THROUGHPUT_VS_REF: VocabName[] = ["llama3", "llama2"];

/** A fresh tokenizer (empty caches) after warming the JIT on another instance. */
function timedEncode(name: VocabName, text: string): { ids: number[]; ms: number } {
  Tokenizer.fromMetadata(convertVocab(name)).encode(text.slice(0, 20_000));
  const tok = Tokenizer.fromMetadata(convertVocab(name));
  const t0 = performance.now();
  const ids = tok.encode(text);
  return { ids, ms: performance.now() - t0 };
}

export function throughputVsReference(name: VocabName, ref: LlamaVocabModel): void {
  const text = megabyteText();
  const { ids: got, ms: oursMs } = timedEncode(name, text);
  const t0 = performance.now();
  const want = ref.tokenize(text, false);
  const refMs = performance.now() - t0;
  const mb = Buffer.byteLength(text) / (1 << 20);
  console.log(
    `# ${name}: ${mb.toFixed(2)} MB -> ${got.length} tokens; ours ${oursMs.toFixed(0)} ms (${(mb / (oursMs / 1000)).toFixed(2)} MB/s), ` +
      `llama.cpp ${refMs.toFixed(0)} ms (${(mb / (refMs / 1000)).toFixed(2)} MB/s), ours/llama.cpp time ratio ${(oursMs / refMs).toFixed(2)}`,
  );
  assert.equal(got.length, want.length, "1 MB text: as many ids as llama.cpp");
  const firstDiff = got.findIndex((id, i) => id !== want[i]);
  assert.equal(firstDiff, -1, "1 MB text: ids equal llama.cpp's");
}

/**
 * Our time only, for vocabularies where llama.cpp itself is too slow for a test: on Gemma 3 (6k
 * special tokens, "\n" user-defined) its special-token partition walks the fragment list for every
 * split and needs tens of seconds; throughput-table.ts still compares the ids there.
 */
export function throughputOursOnly(name: VocabName): void {
  const text = megabyteText();
  const { ids, ms } = timedEncode(name, text);
  console.log(`# ${name}: 1 MB -> ${ids.length} tokens in ${ms.toFixed(0)} ms`);
  assert.ok(ids.length > 100_000);
}
