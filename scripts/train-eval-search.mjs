// Test-time step search with the column process verifier vs greedy, on held-out v2 problems of
// some kinds (default mul,word): each line of the thought is a step; a beam whose line fails the
// verifier's check loses to a sibling whose line checks out.
//   node scripts/train-eval-search.mjs <model.gguf> [--n 30] [--kinds mul,word] [--width 2] [--expand 4]
import path from "node:path";
import { pathToFileURL } from "node:url";

const dist = path.resolve(process.env.EDGELLM_DIST ?? "dist");
const imp = (p) => import(pathToFileURL(path.join(dist, p)).href);
const { loadLLM } = await imp("src/engine/llm.js");
const { arithmeticTestItems, finalAnswer } = await imp("src/train/eval/arithmetic.js");
const { V2_MODEL_DATA } = await imp("src/train/presets.js");
const { stepSearch, llmStepGenerator } = await imp("src/reasoning/step-search.js");
const { columnProcessVerifier } = await imp("src/train/rl/process-verifier.js");
const a = process.argv.slice(2);
const opt = (k, d) => (a.includes(k) ? a[a.indexOf(k) + 1] : d);
const n = Number(opt("--n", "30"));
const kinds = opt("--kinds", "mul,word").split(",");
const items = arithmeticTestItems(n * 8, { data: V2_MODEL_DATA }).filter((i) => kinds.includes(i.kind)).slice(0, n);
const llm = await loadLLM(a[0], { kernels: "wasm", threads: 2, parallel: 8 });
const tally = { greedy: [0, 0], search: [0, 0] };
try {
  for (const it of items) {
    const messages = [{ role: "user", content: it.question }];
    const g = await llm.complete({ messages }, { temperature: 0, maxTokens: 600 });
    tally.greedy[0] += finalAnswer(g.choices[0].text) === it.answer ? 1 : 0;
    tally.greedy[1] += g.usage.completionTokens;
    const s = await stepSearch(llmStepGenerator(llm, llm.encodeChat(messages)), {
      question: it.question,
      verifier: columnProcessVerifier,
      width: Number(opt("--width", "2")),
      expand: Number(opt("--expand", "4")),
      maxSteps: 48,
      temperature: 0.7,
      seed: 1,
      extractor: { regex: /(?:answer is|答案是)\s*(-?\d+)/ },
    });
    const got = s.best ? finalAnswer(s.best.text) : null;
    tally.search[0] += got === it.answer ? 1 : 0;
    tally.search[1] += s.tokens;
  }
  for (const [k, [c, t]] of Object.entries(tally))
    console.log(`${k.padEnd(7)} ${c}/${items.length} (${((100 * c) / items.length).toFixed(1)}%), ${(t / items.length).toFixed(0)} tokens per question`);
} finally {
  await llm.close();
}
