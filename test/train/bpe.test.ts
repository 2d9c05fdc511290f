import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULT_DATA_CONFIG, generateDataset } from "../../src/train/data/generate.js";
import { renderChat } from "../../src/train/data/format.js";
import { trainBpe } from "../../src/train/bpe/trainer.js";
import { buildVocab, tokenizerMetadata, SPECIAL_TEXTS } from "../../src/train/bpe/vocab.js";
import { preTokenize } from "../../src/train/bpe/pretokenize.js";
import { GGUFWriter } from "../../src/gguf/writer.js";
import { GGUFValueType, typed } from "../../src/gguf/value.js";
import { InputError } from "../../src/errors.js";

const data = generateDataset({ ...DEFAULT_DATA_CONFIG, counts: { train: 3000, val: 0, test: 0 } });
const docs = data.train.map((e) => renderChat(e.messages));
// Training time is a benchmark figure (bench/test-speeds.ts), not asserted here.
const model = trainBpe(docs, { vocabSize: 1024, specials: SPECIAL_TEXTS });
const vocab = buildVocab(model);

const HARD = [
  "What is 4821 + 377?",
  "12345678901234567890",
  "  leading and   inner   spaces\n\n\ttabs\r\nCRLF  ",
  "你好，世界！计算 3 × 14。",
  "emoji 🙂👍🏽 and accents: café naïve Ωμέγα",
  "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\nx\n</think>\nok<|im_end|>",
  "don't I'LL we've <think> not special at start?</think>",
  "",
];

test("trains a byte-level vocab, digits stay single tokens", () => {
  assert.equal(vocab.tokens.length, model.tokenBytes.length + SPECIAL_TEXTS.length);
  assert.ok(model.merges.length > 300, `only ${model.merges.length} merges`);
  // qwen2 pre-tokenizer: every digit is its own piece, so no merged token contains a digit next to anything
  assert.deepEqual(preTokenize("a 4821b"), ["a", " ", "4", "8", "2", "1", "b"]);
  for (const b of model.tokenBytes.slice(256)) {
    const s = new TextDecoder().decode(b);
    assert.ok(!/\d/.test(s) || s.length === 1, `token ${JSON.stringify(s)} merges a digit`);
  }
  // unique token strings (llama.cpp maps text -> id)
  assert.equal(new Set(vocab.tokens).size, vocab.tokens.length);
});

test("encode/decode round-trips arbitrary text and specials map to one id", () => {
  for (const s of [...HARD, ...docs.slice(0, 50)])
    assert.equal(vocab.encoder.decode(vocab.encoder.encode(s)), s);
  const ids = vocab.encoder.encode("<|im_start|>assistant\n<think>\n");
  assert.equal(ids[0], vocab.specials.get("<|im_start|>"));
  assert.ok(ids.includes(vocab.specials.get("<think>")!));
});

test("deterministic and validated", () => {
  const again = trainBpe(docs, { vocabSize: 1024, specials: SPECIAL_TEXTS });
  assert.deepEqual(again.merges, model.merges);
  assert.throws(() => trainBpe(docs, { vocabSize: 100, specials: [] }), InputError);
});

test("llama.cpp tokenizes with our GGUF tokenizer record exactly like our encoder", async () => {
  const dir = mkdtempSync(join(tmpdir(), "edgellm-bpe-"));
  try {
    const path = join(dir, "vocab.gguf");
    const w = new GGUFWriter();
    // minimal llama hparams so llama.cpp accepts a vocab-only load
    w.set("general.architecture", "llama");
    w.set("llama.context_length", 512);
    w.set("llama.embedding_length", 64);
    w.set("llama.block_count", 1);
    w.set("llama.feed_forward_length", 128);
    w.set("llama.attention.head_count", 4);
    w.set("llama.attention.layer_norm_rms_epsilon", typed(GGUFValueType.FLOAT32, 1e-5));
    for (const [k, v] of tokenizerMetadata(vocab)) w.set(k, v);
    await w.write(path);
    const { getLlama, LlamaLogLevel } = await import("node-llama-cpp");
    const llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error });
    const m = await llama.loadModel({ modelPath: path, vocabOnly: true });
    try {
      for (const s of [...HARD, ...docs.slice(0, 200)]) {
        assert.deepEqual(
          Array.from(m.tokenize(s, true)),
          vocab.encoder.encode(s),
          `text ${JSON.stringify(s.slice(0, 80))}`,
        );
      }
      assert.equal(m.tokens.eos, vocab.eos);
    } finally {
      await m.dispose();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
