/**
 * Grammar overhead in the real decode loop: the library LLM (engine, sampler chain) on a
 * random-weight llama GGUF carrying a real vocabulary (Qwen3, 151,669 tokens), greedy, the same
 * prompt decoded with and without a SequenceRequest.constraint, so the difference per token is
 * what the constraint costs end to end (mask from the trie walk or the state's cache, the
 * candidate filter on the full vocabulary, accept). Runs alternate (A B A B ...) and medians are
 * taken, as the machine is shared. Tokens per run are equal: the unconstrained run is told to
 * ignore end-of-generation and stop at the constrained run's length.
 *
 * Run: npx tsc -p tsconfig.json --outDir .dist-tools2; node .dist-tools2/bench/grammar-engine.js [runs]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadLLM } from "../src/engine/llm.js";
import { writeTestModel } from "../src/model/factory/index.js";
import {
  compileGrammar,
  GrammarMatcher,
  jsonSchemaToGBNF,
  VocabIndex,
} from "../src/sampling/grammar/index.js";
import { toolConstraintFactory } from "../src/tools/tool-grammar.js";
import { realVocabRecord } from "../test/grammar/vocab.js";

const SCHEMA = {
  type: "object",
  properties: {
    city: { type: "string", maxLength: 24 },
    unit: { enum: ["celsius", "fahrenheit"] },
    days: { type: "integer", minimum: 1, maximum: 14 },
  },
  required: ["city", "unit", "days"],
  additionalProperties: false,
};

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  const runs = Number(process.argv[2] ?? 5);
  const dir = mkdtempSync(join(tmpdir(), "edgellm-bench-grammar-"));
  try {
    const path = join(dir, "m.gguf");
    await writeTestModel(path, {
      arch: "llama",
      nEmbd: 64,
      nLayer: 2,
      nHead: 4,
      nFf: 128,
      nCtx: 1024,
      vocab: realVocabRecord("qwen3") as never,
      weightStd: 0.5,
      tiedEmbeddings: true,
    });
    const llm = await loadLLM(path, { threads: 1, parallel: 1, contextSize: 1024 });
    try {
      let t0 = performance.now();
      VocabIndex.of(llm.tokenizer);
      const tIndex = performance.now() - t0;
      const prompt = llm.encode("Reply in JSON:");
      const schemaTg = compileGrammar(jsonSchemaToGBNF(SCHEMA), llm.tokenizer);
      const tools = [{ type: "function" as const, function: { name: "get_weather", parameters: SCHEMA } }];
      const toolMake = toolConstraintFactory(tools, "required", "hermes", llm.tokenizer, false)!;
      const lazyMake = toolConstraintFactory(tools, "auto", "hermes", llm.tokenizer, false)!;
      console.log(
        `vocab ${llm.tokenizer.nVocab} tokens; vocabulary index (trie) build ${tIndex.toFixed(0)} ms, once per tokenizer`,
      );
      for (const [label, make] of [
        ["json_schema", () => new GrammarMatcher(schemaTg)],
        ["tool required", toolMake],
        ["tool auto (lazy)", lazyMake],
      ] as const) {
        const withC: number[] = [];
        const without: number[] = [];
        let n = 0;
        let cold = 0;
        for (let r = 0; r < runs + 1; r++) {
          t0 = performance.now();
          const c = await llm.complete(prompt, { maxTokens: 120, temperature: 0, constraint: make });
          const tc = performance.now() - t0;
          n = c.usage.completionTokens;
          t0 = performance.now();
          await llm.complete(prompt, { maxTokens: n, temperature: 0, ignoreEos: true });
          const tu = performance.now() - t0;
          if (r === 0) {
            cold = tc / n - tu / n; // fresh grammar: every state's mask walked for the first time
            continue;
          }
          withC.push(tc / n);
          without.push(tu / n);
        }
        const a = median(withC);
        const b = median(without);
        console.log(
          `${label.padEnd(17)} ${n} tokens: constrained ${a.toFixed(2)} ms/token, unconstrained ${b.toFixed(2)} ms/token, overhead ${(a - b).toFixed(2)} ms/token (${((a / b - 1) * 100).toFixed(0)}%); first run (cold masks) ${cold.toFixed(2)} ms/token`,
        );
      }
    } finally {
      await llm.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
