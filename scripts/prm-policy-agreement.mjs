// How the PRM (scripts/train-prm.mjs) agrees with the rule checker on lines the policy itself writes,
// not on corrupted corpus lines: greedy and sampled workings of held-out questions (the eval's v2 test
// split), every judged line labelled by the checker and scored by the PRM head, counted per class.
//   nice -n 11 node scripts/prm-policy-agreement.mjs [--prm build/prm/prm-head.json] [--model models/edgellm-default-q8_0.gguf]
//        [--kinds mul] [--questions 30] [--samples 4] [--temperature 0.8]
import { readFile } from "node:fs/promises";
import { loadLLM } from "../dist/src/engine/llm.js";
import { arithmeticTask } from "../dist/src/reasoning/eval-task.js";
import { isJudgedLine, parsePrmHead, PrmScorer, PrmVerifier, thinkingLines } from "../dist/src/train/prm.js";
import { checkSteps } from "../dist/src/train/rl/process-verifier.js";

const arg = (k, d) => {
  const i = process.argv.indexOf(k);
  return i >= 0 ? process.argv[i + 1] : d;
};
const headFile = arg("--prm", "build/prm/prm-head.json");
const head = parsePrmHead(await readFile(headFile, "utf8"), headFile);
const scorer = await PrmScorer.load(head.model);
const prm = new PrmVerifier(scorer, head);
const samples = Number(arg("--samples", "4"));
const llm = await loadLLM(arg("--model", "models/edgellm-default-q8_0.gguf"), { parallel: samples });
const items = arithmeticTask(Number(arg("--questions", "30")), { set: "v2", kinds: arg("--kinds", "mul").split(",") });
const c = { tp: 0, fn: 0, tn: 0, fp: 0 };
const firstWrong = { caught: 0, of: 0 };
for (const [qi, it] of items.entries()) {
  const runs = [
    await llm.complete({ messages: [{ role: "user", content: it.question }] }, { temperature: 0, maxTokens: 320 }),
    await llm.complete(
      { messages: [{ role: "user", content: it.question }] },
      { temperature: Number(arg("--temperature", "0.8")), n: samples, seed: 1 + 1000 * qi, maxTokens: 320 },
    ),
  ];
  for (const text of runs.flatMap((r) => r.choices.map((ch) => ch.text))) {
    const lines = thinkingLines(text);
    const checks = checkSteps(lines.join("\n"));
    const ps = await prm.lineScores(it.question, lines);
    let seenWrong = false;
    lines.forEach((l, i) => {
      const ok = checks[i]?.ok;
      if (!isJudgedLine(l) || ok === null || ok === undefined || ps[i] === null) return;
      const yes = ps[i] >= 0.5;
      if (ok) yes ? c.tp++ : c.fn++;
      else {
        yes ? c.fp++ : c.tn++;
        if (!seenWrong) {
          // the first wrong line of a working: the one a step search must catch
          firstWrong.of++;
          if (!yes) firstWrong.caught++;
          seenWrong = true;
        }
      }
    });
  }
}
await llm.close();
await scorer.close();
const pct = (a, b) => `${a}/${b} = ${((100 * a) / Math.max(1, b)).toFixed(1)}%`;
console.log(
  `policy-written lines (${items.length} questions, greedy + ${samples} samples): agree ${pct(c.tp + c.tn, c.tp + c.tn + c.fp + c.fn)}; right lines judged right ${pct(c.tp, c.tp + c.fn)}; wrong lines judged wrong ${pct(c.tn, c.tn + c.fp)}; first wrong line of a working judged wrong ${pct(firstWrong.caught, firstWrong.of)}`,
);
