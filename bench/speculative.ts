/**
 * Prompt-lookup speculative decoding vs plain greedy on one model, same run: decode tokens per
 * CPU-second (process CPU, all threads), draft acceptance and forward steps, median of rounds.
 *   node dist/bench/speculative.js [model.gguf] [--prompt "text"] [--gen 128] [--rounds 3]
 *     [--ngram 3] [--max-draft 8]
 * Measured on the default model v2 (~1M parameters, --prompt "What is 48213 plus 39075?", 147
 * tokens, --rounds 11, shared machine): greedy output identical every time; ngram 3 / draft 8:
 * 16% of drafts accepted, 77 forwards instead of 147, x0.77 speed; 3/4: 26%, 81, x0.85; 2/4:
 * 22%, 86, x0.52; 2/2: 34%, 93, x0.72. Fewer forwards, but a model this small costs per row
 * computed, not per weight read, so verifying drafts costs more than it saves. The default
 * "Repeat the numbers" prompt gets a 22-token reply from it (no drafts accepted).
 */
import { loadLLM } from "../src/engine/llm.js";
import { median } from "../src/cli/bench/read-ceiling.js";
import { resolveModelPath } from "../src/cli/default-model.js";

const args = process.argv.slice(2);
const opt = (name: string, d: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : d;
};
const path = resolveModelPath(args[0] && !args[0].startsWith("--") ? args[0] : undefined);
const gen = Number(opt("--gen", "128"));
const rounds = Number(opt("--rounds", "3"));
const ngram = Number(opt("--ngram", "3"));
const maxDraft = Number(opt("--max-draft", "8"));
const text = opt("--prompt", "Repeat the numbers then add them: 12 7 30 4 19 8 26 3 15 11");
const llm = await loadLLM(path, { parallel: 1, threads: 1 });
try {
  const p = llm.encodeChat([{ role: "user", content: text }]);
  const res: Record<
    string,
    { tps: number[]; steps: number; drafts: number; accepted: number; tokens: number[] }
  > = {};
  for (let r = 0; r < rounds; r++) {
    for (const mode of ["plain", "lookup"] as const) {
      const s0 = llm.stats();
      const c0 = process.cpuUsage();
      const out = await llm.complete(p, {
        maxTokens: gen,
        temperature: 0,
        ...(mode === "lookup" ? { speculative: { ngram, maxDraft } } : {}),
      });
      const cpu = process.cpuUsage(c0);
      const s1 = llm.stats();
      const e = (res[mode] ??= { tps: [], steps: 0, drafts: 0, accepted: 0, tokens: out.choices[0].tokens });
      e.tps.push((out.choices[0].tokens.length * 1e6) / (cpu.user + cpu.system));
      e.steps = s1.steps - s0.steps;
      e.drafts = s1.draftTokens - s0.draftTokens;
      e.accepted = s1.acceptedDraftTokens - s0.acceptedDraftTokens;
    }
  }
  const same = res.plain.tokens.join() === res.lookup.tokens.join();
  console.log(
    `${llm.name}: ${res.plain.tokens.length} tokens, greedy, identical output: ${same}; lookup n-gram ${ngram}, at most ${maxDraft} drafted`,
  );
  for (const [k, e] of Object.entries(res))
    console.log(
      `  ${k.padEnd(6)} ${median(e.tps).toFixed(1)} tok/cpu-s  x${(median(e.tps) / median(res.plain.tps)).toFixed(2)}  steps ${e.steps}  drafts ${e.drafts}, accepted ${e.accepted} (${e.drafts ? ((100 * e.accepted) / e.drafts).toFixed(0) : 0}%)`,
    );
} finally {
  await llm.close();
}
