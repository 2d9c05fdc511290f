/**
 * Speculative decoding vs plain greedy on one target, same process, alternating rounds: decode
 * tokens per CPU-second (process CPU, all threads), draft acceptance, target forward steps and
 * draft-model forwards; median of rounds. Methods: prompt lookup, and a draft model (--draft).
 *   node dist/bench/speculative.js [model.gguf] [--prompt "text"] [--gen 128] [--rounds 3]
 *     [--ngram 3] [--min-ngram 1] [--max-draft 8] [--draft draft.gguf] [--threads 1]
 * Every row checks that its greedy output equals the plain run's. Figures: docs/speculative.md.
 */
import { loadLLM, type LLM } from "../src/engine/llm.js";
import { median } from "../src/cli/bench/read-ceiling.js";
import { resolveModelPath } from "../src/cli/default-model.js";
import type { SpeculativeOptions } from "../src/engine/speculative.js";

const args = process.argv.slice(2);
const opt = (name: string, d: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : d;
};
const path = resolveModelPath(args[0] && !args[0].startsWith("--") ? args[0] : undefined);
const gen = Number(opt("--gen", "128"));
const rounds = Number(opt("--rounds", "3"));
const ngram = Number(opt("--ngram", "3"));
const minNgram = Number(opt("--min-ngram", "1"));
const maxDraft = Number(opt("--max-draft", "8"));
const threads = Number(opt("--threads", "1"));
const draftPath = opt("--draft", "");
const text = opt("--prompt", "Repeat the numbers then add them: 12 7 30 4 19 8 26 3 15 11");
const llm = await loadLLM(path, { parallel: 1, threads });
const withDraft = draftPath ? await loadLLM(path, { parallel: 1, threads, draft: draftPath }) : undefined;
type Mode = { name: string; llm: LLM; spec?: SpeculativeOptions };
const modes: Mode[] = [
  { name: "plain", llm },
  { name: "lookup", llm, spec: { method: "lookup", ngram, minNgram, maxDraft } },
  ...(withDraft ? [{ name: "draft", llm: withDraft, spec: { method: "draft" as const, maxDraft } }] : []),
];
try {
  const p = llm.encodeChat([{ role: "user", content: text }]);
  const res: Record<
    string,
    { tps: number[]; steps: number; drafts: number; accepted: number; dfw: number; tokens: number[] }
  > = {};
  for (let r = 0; r < rounds; r++) {
    for (const m of modes) {
      const s0 = m.llm.stats();
      const c0 = process.cpuUsage();
      const out = await m.llm.complete(p, {
        maxTokens: gen,
        temperature: 0,
        ...(m.spec ? { speculative: m.spec } : {}),
      });
      const cpu = process.cpuUsage(c0);
      const s1 = m.llm.stats();
      const e = (res[m.name] ??= {
        tps: [],
        steps: 0,
        drafts: 0,
        accepted: 0,
        dfw: 0,
        tokens: out.choices[0].tokens,
      });
      e.tps.push((out.choices[0].tokens.length * 1e6) / (cpu.user + cpu.system));
      e.steps = s1.steps - s0.steps;
      e.drafts = s1.draftTokens - s0.draftTokens;
      e.accepted = s1.acceptedDraftTokens - s0.acceptedDraftTokens;
      e.dfw = s1.draftForwards - s0.draftForwards;
    }
  }
  console.log(
    `${llm.name}: ${res.plain.tokens.length} tokens, greedy, threads ${threads}, ${rounds} rounds; lookup n-gram ${ngram}..${minNgram}; at most ${maxDraft} drafted${draftPath ? `; draft ${draftPath}` : ""}`,
  );
  for (const [k, e] of Object.entries(res))
    console.log(
      `  ${k.padEnd(6)} ${median(e.tps).toFixed(1)} tok/cpu-s  x${(median(e.tps) / median(res.plain.tps)).toFixed(2)}  target steps ${e.steps}  draft forwards ${e.dfw}  drafted ${e.drafts}, accepted ${e.accepted} (${e.drafts ? ((100 * e.accepted) / e.drafts).toFixed(0) : 0}%)  same output: ${e.tokens.join() === res.plain.tokens.join()}`,
    );
} finally {
  await llm.close();
  await withDraft?.close();
}
