/**
 * Wall-clock figures that used to be asserted inside functional tests (issue 16: no test asserts
 * a performance threshold; absolute times on shared machines are noise). Each row prints the time
 * and the bound the test once held, so a regression is visible without failing `npm test`:
 *   bpe      byte-level BPE training, 3000 corpus chats, vocab 1024          (was < 5 s)
 *   train    the 60-step tiny training run of test/train/loop.test.ts        (was < 30 s)
 *   tok      1 MB mixed-script text through a fresh llama3 / llama2 / gemma3 tokenizer (was < 2.5 s)
 *   fuzz     10,000 GGUF mutations: slowest single parse                      (was < 100 ms)
 *   breaker  an open circuit refusing a call                                  (was < 50 ms)
 *
 * Run: npm run build && node dist/bench/test-speeds.js [bpe|train|tok|fuzz|breaker ...]
 */
import { DEFAULT_DATA_CONFIG, generateDataset } from "../src/train/data/generate.js";
import { renderChat } from "../src/train/data/format.js";
import { trainBpe } from "../src/train/bpe/trainer.js";
import { buildVocab, SPECIAL_TEXTS } from "../src/train/bpe/vocab.js";
import { tokenizeExamples } from "../src/train/batches.js";
import { train } from "../src/train/loop.js";
import { Tokenizer } from "../src/tokenizer/tokenizer.js";
import { CloudClient } from "../src/router/cloud-client.js";
import { convertVocab, type VocabName } from "../test/tokenizer/helpers.js";
import { megabyteText } from "../test/tokenizer/megabyte.js";
import { runFuzz } from "../test/fuzz/gguf-fuzz.js";

function row(name: string, ms: number, boundMs: number): void {
  const unit = ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(1)} ms`;
  console.log(
    `${name.padEnd(28)} ${unit.padStart(10)}   (old test bound ${boundMs} ms: ${ms < boundMs ? "within" : "OVER"})`,
  );
}

async function time(f: () => unknown): Promise<number> {
  const t0 = performance.now();
  await f();
  return performance.now() - t0;
}

const cases: Record<string, () => Promise<void>> = {
  async bpe() {
    const data = generateDataset({ ...DEFAULT_DATA_CONFIG, counts: { train: 3000, val: 0, test: 0 } });
    const docs = data.train.map((e) => renderChat(e.messages));
    row(
      "bpe train (vocab 1024)",
      await time(() => trainBpe(docs, { vocabSize: 1024, specials: SPECIAL_TEXTS })),
      5000,
    );
  },
  async train() {
    const data = generateDataset({
      ...DEFAULT_DATA_CONFIG,
      counts: { train: 300, val: 0, test: 0 },
      addSubDigits: 2,
      mix: { add: 1, sub: 0, mul: 0, word: 0, chat: 0 },
    });
    const vocab = buildVocab(
      trainBpe(
        data.train.map((e) => renderChat(e.messages)),
        { vocabSize: 320, specials: SPECIAL_TEXTS },
      ),
    );
    const set = tokenizeExamples(data.train, vocab.encoder, vocab.pad);
    const config = {
      vocab: vocab.tokens.length,
      dim: 32,
      layers: 2,
      heads: 4,
      kvHeads: 2,
      ffn: 64,
      ctx: 64,
      ropeBase: 10000,
      normEps: 1e-5,
      tied: true,
    };
    const ms = await time(() =>
      train({
        config,
        data: set,
        batch: 4,
        seqLen: 48,
        steps: 60,
        lr: { maxLr: 5e-3, minLr: 5e-4, warmup: 5 },
        clip: 1,
        seed: 3,
      }),
    );
    row("tiny training run (60 steps)", ms, 30_000);
  },
  async tok() {
    const text = megabyteText();
    for (const name of ["llama3", "llama2", "gemma3"] as VocabName[]) {
      Tokenizer.fromMetadata(convertVocab(name)).encode(text.slice(0, 20_000)); // JIT warm-up
      const tok = Tokenizer.fromMetadata(convertVocab(name));
      row(`tokenize 1 MB (${name})`, await time(() => tok.encode(text)), 2500);
    }
  },
  async fuzz() {
    const s = runFuzz({ iterations: 10_000, seed: 1, maxMs: 100 });
    row("fuzz: slowest GGUF parse", s.maxMs, 100);
  },
  async breaker() {
    const c = new CloudClient({
      baseUrl: "http://127.0.0.1:9/v1",
      model: "x",
      maxRetries: 0,
      breaker: { failureThreshold: 1, cooldownMs: 60_000 },
    });
    await c.chat({ messages: [{ role: "user", content: "x" }] }).catch(() => undefined);
    row("open circuit refuses", await time(() => c.chat({ messages: [] }).catch(() => undefined)), 50);
  },
};

const want = process.argv.slice(2);
for (const [name, run] of Object.entries(cases)) if (want.length === 0 || want.includes(name)) await run();
