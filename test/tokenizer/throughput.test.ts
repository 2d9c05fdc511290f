/**
 * Throughput: a 1 MB mixed-script text must tokenize in well under a second, and we print the
 * ratio against llama.cpp's tokenizer (node-llama-cpp model.tokenize) on the same text.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { buildCorpus } from "./corpus.js";
import { loadReference } from "./conformance.js";
import type { VocabName } from "./helpers.js";

function megabyteText(): string {
  const prose =
    "The history of computing is a story of abstraction: each layer hides the one below it. " +
    "机器学习是人工智能的一个分支。 Привет, мир! 12345 67.89 — code: for (let i = 0; i < n; i++) { s += a[i]; }\n";
  const parts = [...buildCorpus(600, 7).filter((s) => !/\p{Cs}/u.test(s)), prose.repeat(4)];
  const out: string[] = [];
  for (let i = 0, bytes = 0; bytes < 1 << 20; i++) {
    const p = parts[(i * 7919) % parts.length] + "\n";
    out.push(p);
    bytes += Buffer.byteLength(p);
  }
  return out.join("");
}

for (const name of ["llama3", "llama2"] as VocabName[]) {
  test(
    `${name}: 1 MB tokenizes in well under a second; ratio vs llama.cpp`,
    { timeout: 120_000 },
    async () => {
      const text = megabyteText();
      const { ours, ref, dispose } = await loadReference(name);
      try {
        ours.encode(text.slice(0, 10_000)); // warm-up (JIT, regex compile)
        let t0 = performance.now();
        const got = ours.encode(text);
        const oursMs = performance.now() - t0;
        t0 = performance.now();
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
        // "Well under a second" on a quiet machine; the bound leaves room for shared CI cores.
        assert.ok(oursMs < 2500, `1 MB took ${oursMs.toFixed(0)} ms`);
      } finally {
        await dispose();
      }
    },
  );
}
