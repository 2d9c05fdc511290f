/**
 * 1 MB throughput tables, ours vs llama.cpp (node-llama-cpp model.tokenize), five vocabularies,
 * two texts (the mixed corpus text, which repeats its words, and 1 MB of mostly distinct
 * pseudo-words): the same text in the same process, each side timed `runs` times (median
 * reported), ids checked equal on every run. Each of our runs uses a fresh Tokenizer (empty caches).
 *
 *   npx tsc -p tsconfig.json --outDir .dist-tok2 && node .dist-tok2/test/tokenizer/throughput-table.js [runs] [vocab...]
 */
import { loadavg } from "node:os";
import { Tokenizer } from "../../src/tokenizer/tokenizer.js";
import { closeReference, loadReference } from "./conformance.js";
import { convertVocab, type VocabName } from "./helpers.js";
import { megabyteText, variedMegabyteText } from "./megabyte.js";

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

async function table(label: string, text: string, names: VocabName[], runs: number): Promise<string> {
  const mb = Buffer.byteLength(text) / (1 << 20);
  const rows: string[] = [];
  for (const name of names) {
    const { ref, dispose } = await loadReference(name);
    try {
      Tokenizer.fromMetadata(convertVocab(name)).encode(text.slice(0, 20_000)); // JIT warm-up
      const ours: number[] = [];
      const theirs: number[] = [];
      let nTok = 0;
      for (let r = 0; r < runs; r++) {
        const tok = Tokenizer.fromMetadata(convertVocab(name));
        let t0 = performance.now();
        const got = tok.encode(text);
        ours.push(performance.now() - t0);
        t0 = performance.now();
        const want = ref.tokenize(text, false);
        theirs.push(performance.now() - t0);
        if (got.length !== want.length || got.some((id, i) => id !== want[i]))
          throw new Error(`${name}: ids differ from llama.cpp on the ${label} text`);
        nTok = got.length;
      }
      const o = median(ours);
      const t = median(theirs);
      const row =
        `| ${name} | ${nTok} | ${o.toFixed(0)} | ${(mb / (o / 1000)).toFixed(2)} | ${t.toFixed(0)} | ` +
        `${(mb / (t / 1000)).toFixed(2)} | ${(o / t).toFixed(2)} |`;
      rows.push(row);
      console.log(
        `${label} ${row}   runs ours [${ours.map((x) => x.toFixed(0))}] llama.cpp [${theirs.map((x) => x.toFixed(0))}]`,
      );
    } finally {
      await dispose();
    }
  }
  return (
    `\n${label}: ${mb.toFixed(2)} MB, median of ${runs}, ids equal on every run; load average ${loadavg()
      .map((x) => x.toFixed(1))
      .join(" ")}\n` +
    "| vocab | tokens | ours ms | ours MB/s | llama.cpp ms | llama.cpp MB/s | time ratio ours/llama.cpp |\n" +
    "|---|---|---|---|---|---|---|\n" +
    rows.join("\n")
  );
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const runs = args.length > 0 && /^\d+$/.test(args[0]) ? Number(args.shift()) : 3;
  const names = (
    args.length > 0 ? args : ["llama3", "qwen3", "deepseek_v3", "gemma3", "llama2"]
  ) as VocabName[];
  const a = await table("mixed corpus text", megabyteText(), names, runs);
  const b = await table("mostly distinct pseudo-words", variedMegabyteText(), names, runs);
  await closeReference();
  console.log(a + "\n" + b);
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
