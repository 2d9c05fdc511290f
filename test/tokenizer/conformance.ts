/**
 * Conformance harness: our tokenizer vs llama.cpp (node-llama-cpp, the reference) on the hard
 * corpus for one real vocabulary. Also counts where llama.cpp and the HF tokenizer
 * (@lenml/tokenizers) disagree, for the record (llama.cpp is followed where they differ).
 */
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { Tokenizer, cleanSpaces } from "../../src/tokenizer/tokenizer.js";
import { utf8Decode, utf8Encode } from "../../src/tokenizer/unicode.js";
import { buildCorpus } from "./corpus.js";
import { rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { GGUFTokenizerRecord } from "../../src/tokenizer/convert-hf.js";
import { vocabEntry, writeVocabGGUF, type VocabName } from "./helpers.js";

export interface ConformanceReport {
  vocab: VocabName;
  corpus: number;
  encodeMismatches: string[];
  decodeMismatches: string[];
  roundTripFailures: string[];
  hfDisagreements: string[];
}

/** node-llama-cpp TokenAttributes getters, bit i = 1 << i (the same bits as our Attr). */
const ATTR_NAMES = [
  "unknown",
  "unused",
  "normal",
  "control",
  "userDefined",
  "byte",
  "normalized",
  "lstrip",
  "rstrip",
  "singleWord",
] as const;

/** The reference's attribute bits of one token. */
export function refAttrs(ref: LlamaVocabModel, id: number): number {
  const a = ref.getTokenAttributes(id);
  let m = 0;
  ATTR_NAMES.forEach((k, i) => {
    if (a[k]) m |= 1 << i;
  });
  return m;
}

/** Special ids, EOG set and attributes of every token vs the reference. */
export function assertSpecialIdsMatch(label: string, ours: Tokenizer, ref: LlamaVocabModel): void {
  const refEog: number[] = [];
  // llama_vocab_is_eog itself: node-llama-cpp's public isEogToken also says yes to the EOS and EOT
  // ids, which the reference does not always keep in the set (Harmony's <|end|> is its EOT).
  for (let id = 0; id < ours.nVocab; id++) if (ref._model.isEogToken(id)) refEog.push(id);
  const ourEog = [...ours.eog].sort((a, b) => a - b);
  const show = (ids: number[]) => ids.map((i) => `${i}:${ours.tokenRaw(i)}`).join(" ");
  console.log(`# ${label}: EOG ${show(refEog)}; eot ${ref.tokens.eot ?? "none"}`);
  assert.deepEqual(ourEog, refEog, `${label} EOG set: llama.cpp ${show(refEog)}, ours ${show(ourEog)}`);
  assert.equal(ours.vocab.bos, ref.tokens.bos ?? -1, `${label} BOS`);
  assert.equal(ours.vocab.eos, ref.tokens.eos ?? -1, `${label} EOS`);
  assert.equal(ours.vocab.eot, ref.tokens.eot ?? -1, `${label} EOT`);
  const bad: string[] = [];
  for (let id = 0; id < ours.nVocab; id++) {
    const want = refAttrs(ref, id);
    if (want !== ours.vocab.attrs[id])
      bad.push(`${id}:${ours.tokenRaw(id)} llama.cpp ${want} ours ${ours.vocab.attrs[id]}`);
  }
  assert.equal(bad.length, 0, `${label} token attributes differ:\n${bad.slice(0, 8).join("\n")}`);
}

export interface LlamaVocabModel {
  tokenize(text: string, special?: boolean): number[];
  detokenize(tokens: readonly number[], special?: boolean): string;
  isEogToken(token: number): boolean;
  /** The native binding (llama_vocab_* calls). */
  readonly _model: { isEogToken(token: number): boolean };
  getTokenAttributes(token: number): Record<(typeof ATTR_NAMES)[number], boolean>;
  readonly tokens: { readonly bos: number | null; readonly eos: number | null; readonly eot: number | null };
  dispose(): Promise<void>;
}

interface LlamaInstance {
  loadModel(o: { modelPath: string; vocabOnly: boolean }): Promise<unknown>;
  dispose(): Promise<void>;
}

/** One llama.cpp binding per process (loading it is the slow part, models are cheap). */
let llamaPromise: Promise<LlamaInstance> | undefined;

function referenceLlama(): Promise<LlamaInstance> {
  llamaPromise ??= import("node-llama-cpp").then(
    ({ getLlama }) =>
      getLlama({
        gpu: false,
        build: "never",
        logLevel: "error" as never,
        logger: () => {},
      }) as Promise<LlamaInstance>,
  );
  return llamaPromise;
}

/** Release the shared llama.cpp binding (call once, after the last loadReference user). */
export async function closeReference(): Promise<void> {
  const p = llamaPromise;
  llamaPromise = undefined;
  if (p) await (await p).dispose();
}

/** Our tokenizer and the reference on the vocab-only GGUF written from our conversion. */
export async function loadReference(
  name: VocabName,
): Promise<{ ours: Tokenizer; ref: LlamaVocabModel; dispose: () => Promise<void> }> {
  const { record, path } = vocabEntry(name);
  return loadBoth(record, path);
}

/** The same for a hand-built record (small: written to a temporary GGUF each time). */
export async function loadReferenceRecord(
  record: GGUFTokenizerRecord,
  tag: string,
): Promise<{ ours: Tokenizer; ref: LlamaVocabModel; dispose: () => Promise<void> }> {
  const path = join(tmpdir(), `edgellm-vocab-${tag}-${process.pid}.gguf`);
  writeVocabGGUF(record, tag, path);
  const loaded = await loadBoth(record, path);
  return {
    ...loaded,
    dispose: async () => {
      await loaded.dispose();
      rmSync(path, { force: true });
    },
  };
}

async function loadBoth(
  record: GGUFTokenizerRecord,
  path: string,
): Promise<{ ours: Tokenizer; ref: LlamaVocabModel; dispose: () => Promise<void> }> {
  const llama = await referenceLlama();
  const model = (await llama.loadModel({ modelPath: path, vocabOnly: true })) as LlamaVocabModel;
  return {
    ours: Tokenizer.fromMetadata(record),
    ref: model,
    dispose: () => model.dispose(),
  };
}

const show = (s: string) => JSON.stringify(s).slice(0, 80);

/** Compare on the corpus; `loaded` from loadReference (the caller disposes it). */
export function runConformance(
  name: VocabName,
  loaded: { ours: Tokenizer; ref: LlamaVocabModel },
  opts: { hf?: boolean } = {},
): ConformanceReport {
  const corpus = buildCorpus();
  const { ours, ref } = loaded;
  const rep: ConformanceReport = {
    vocab: name,
    corpus: corpus.length,
    encodeMismatches: [],
    decodeMismatches: [],
    roundTripFailures: [],
    hfDisagreements: [],
  };
  let hf: { encode(t: string, o: { add_special_tokens: boolean }): number[] } | undefined;
  if (opts.hf) {
    const require = createRequire(import.meta.url);
    hf = require(`@lenml/tokenizer-${name}`).fromPreTrained();
  }
  for (const text of corpus) {
    for (const special of [false, true]) {
      const want = Array.from(ref.tokenize(text, special));
      const got = ours.encode(text, { parseSpecial: special });
      if (JSON.stringify(want) !== JSON.stringify(got)) {
        rep.encodeMismatches.push(
          `${show(text)} special=${special}\n  llama.cpp ${want.join(",")}\n  ours      ${got.join(",")}`,
        );
        continue;
      }
      const dWant = ref.detokenize(want, special);
      const dGot = ours.decode(want, { special });
      if (dWant !== dGot)
        rep.decodeMismatches.push(
          `${show(text)} special=${special}: llama.cpp ${show(dWant)} ours ${show(dGot)}`,
        );
      if (!special) {
        // Round trip: decoding gives back the text (after the vocabulary's space clean-up, if any).
        // SentencePiece vocabularies write spaces as U+2581 and so decode a literal U+2581 as a space.
        let wf = utf8Decode(utf8Encode(text));
        if (ours.vocab.model === "llama") wf = wf.replaceAll("\u2581", " ");
        const expect = ours.cleanSpaces ? utf8Decode(cleanSpaces(utf8Encode(wf))) : wf;
        if (dGot !== expect) rep.roundTripFailures.push(`${show(text)} -> ${show(dGot)}`);
      }
      // HF (JS) keeps lone surrogates in the string and byte-falls-back on them; llama.cpp sees
      // U+FFFD. That is a property of the JS port, so such strings are not compared with HF.
      if (hf && special && !/\p{Cs}/u.test(text)) {
        const h = hf.encode(text, { add_special_tokens: false });
        if (JSON.stringify(h) !== JSON.stringify(want))
          rep.hfDisagreements.push(
            `${show(text)}\n  llama.cpp ${want.join(",")}\n  HF        ${h.join(",")}`,
          );
      }
    }
  }
  return rep;
}

/** Assert zero mismatches, printing the first few of each kind. */
export function assertConformant(rep: ConformanceReport): void {
  const head = (a: string[]) => a.slice(0, 8).join("\n");
  console.log(
    `# ${rep.vocab}: corpus ${rep.corpus} strings x 2 (parse_special off/on); encode mismatches ${rep.encodeMismatches.length}, ` +
      `decode mismatches ${rep.decodeMismatches.length}, round-trip failures ${rep.roundTripFailures.length}, ` +
      `llama.cpp-vs-HF disagreements ${rep.hfDisagreements.length}`,
  );
  if (rep.hfDisagreements.length)
    console.log(`# HF disagreements (informational):\n${head(rep.hfDisagreements)}`);
  assert.ok(rep.corpus >= 500, "corpus must hold at least 500 strings");
  assert.equal(
    rep.encodeMismatches.length,
    0,
    `encode mismatches vs llama.cpp:\n${head(rep.encodeMismatches)}`,
  );
  assert.equal(
    rep.decodeMismatches.length,
    0,
    `decode mismatches vs llama.cpp:\n${head(rep.decodeMismatches)}`,
  );
  assert.equal(rep.roundTripFailures.length, 0, `round-trip failures:\n${head(rep.roundTripFailures)}`);
}
