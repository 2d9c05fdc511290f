/**
 * Our tokenizer vs llama.cpp on five real vocabularies, in one process with one llama.cpp binding
 * and one load of each vocabulary (loading is most of the cost): token ids and detokenized text on
 * the hard corpus; the special ids (BOS, EOS, EOT) and the whole end-of-generation set, which
 * llama.cpp derives from token texts; and 1 MB throughput with ids equal to llama.cpp's.
 */
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { convertHFTokenizer } from "../../src/tokenizer/convert-hf.js";
import {
  assertConformant,
  assertSpecialIdsMatch,
  closeReference,
  loadReference,
  loadReferenceRecord,
  runConformance,
} from "./conformance.js";
import { SPECIAL_ID_CASES, specialIdsRecord } from "./special-id-cases.js";
import { CONVERT_OPTS, hfFiles, readVocabGGUF, vocabEntry, type VocabName } from "./helpers.js";
import { THROUGHPUT_VS_REF, throughputOursOnly, throughputVsReference } from "./throughput.js";

const VOCABS: VocabName[] = ["llama3", "qwen3", "deepseek_v3", "gemma3", "llama2"];

after(closeReference);

for (const name of VOCABS) {
  test(name, { timeout: 180_000 }, async (t) => {
    // One load of our tokenizer and of llama.cpp's per vocabulary, shared by the subtests.
    const loaded = await loadReference(name);
    const { ours, ref } = loaded;
    try {
      await t.test("encode/decode identical to llama.cpp on the corpus", () => {
        assertConformant(runConformance(name, loaded, { hf: process.env.EDGELLM_TOK_HF === "1" }));
      });
      await t.test("BOS/EOS/EOT ids, the EOG set and every token's attributes equal llama.cpp's", () => {
        assertSpecialIdsMatch(name, ours, ref);
      });
      if (THROUGHPUT_VS_REF.includes(name))
        await t.test("1 MB text: ids equal llama.cpp's (time printed, not asserted)", () => {
          throughputVsReference(name, ref);
        });
    } finally {
      await loaded.dispose();
    }
  });
}

// Qwen3.5 files declare their own pre-tokenizer ("qwen35": qwen2's split with combining marks
// inside letter runs). No Qwen3.5 vocabulary ships in npm, so the split runs over the real Qwen3
// vocabulary (same byte-level BPE family) with the file's pre set to qwen35; the corpus has
// combining marks and Devanagari, where the two splits differ.
test(
  "qwen35 pre-tokenizer (on the Qwen3 vocabulary): ids identical to llama.cpp on the corpus",
  { timeout: 180_000 },
  async () => {
    const record = { ...vocabEntry("qwen3").record, "tokenizer.ggml.pre": "qwen35" };
    const loaded = await loadReferenceRecord(record, "qwen35");
    try {
      assertConformant(runConformance("qwen3", loaded));
      // Where the splits differ (Arabic with harakat: the marks stay inside the letter run), both
      // equal llama.cpp's ids, and they are not the same ids.
      const text =
        "\u0645\u064e\u0631\u0652\u062d\u064e\u0628\u064b\u0627 \u0634\u064e\u0643\u0652\u0631\u064b\u0627";
      const qwen2 = await loadReferenceRecord({ ...record, "tokenizer.ggml.pre": "qwen2" }, "qwen2-marks");
      try {
        const ids35 = Array.from(loaded.ref.tokenize(text, false));
        const ids2 = Array.from(qwen2.ref.tokenize(text, false));
        assert.deepEqual(loaded.ours.encode(text, { parseSpecial: false }), ids35);
        assert.deepEqual(qwen2.ours.encode(text, { parseSpecial: false }), ids2);
        assert.notDeepEqual(ids35, ids2);
      } finally {
        await qwen2.dispose();
      }
    } finally {
      await loaded.dispose();
    }
  },
);

test("the on-disk conversion cache gives back exactly what the converter produces", () => {
  const { tj, config } = hfFiles("llama2");
  const fresh = convertHFTokenizer(tj, config, CONVERT_OPTS.llama2);
  const cached = readVocabGGUF(vocabEntry("llama2").path);
  assert.deepEqual(Object.keys(cached).sort(), Object.keys(fresh).sort());
  for (const k of Object.keys(fresh)) assert.deepEqual(cached[k], fresh[k], k);
});

test("special ids, EOG rules and attribute fix-ups on hand-built vocabularies equal llama.cpp's", async (t) => {
  for (const c of SPECIAL_ID_CASES) {
    await t.test(c.name, async () => {
      const { ours, ref, dispose } = await loadReferenceRecord(specialIdsRecord(c), "special-ids");
      try {
        assertSpecialIdsMatch(c.name, ours, ref);
      } finally {
        await dispose();
      }
    });
  }
});

// Gemma 3: our time only; llama.cpp needs tens of seconds on this text (see throughput.ts).
test("gemma3: 1 MB tokenizes (time printed, not asserted)", () => throughputOursOnly("gemma3"));
