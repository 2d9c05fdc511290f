/**
 * Speculative decoding vs plain greedy on one target, same process, alternating rounds: decode
 * tokens per CPU-second (process CPU, all threads), draft acceptance, target forward steps and
 * draft forwards; median of rounds. Methods: prompt lookup (unless --no-lookup), a draft model
 * (--draft), and self-speculative early exit (--draft-layers 1,2: the target's first k layers draft).
 * `--max-draft` takes a list (4,8,16): one row per draft length per method, in the same rounds.
 * `--then "question"`: a two-turn conversation instead — the prompt, the model's own greedy answer
 * to it (generated once, before the rounds), then this question; what is timed is the answer to
 * the second turn (a follow-up or a repeated question, whose answer can quote the first).
 *   node dist/bench/speculative.js [model.gguf] [--prompt "text"] [--then "text"] [--gen 128]
 *     [--rounds 3] [--ngram 10] [--min-ngram 1] [--per-match 1] [--max-draft 8[,16...]]
 *     [--draft draft.gguf] [--draft-layers 1[,2...]] [--p-min 0[,0.5...]] [--no-lookup]
 *     [--threads 1]
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
const ngram = Number(opt("--ngram", "10"));
const perMatch = Number(opt("--per-match", "1"));
const minNgram = Number(opt("--min-ngram", "1"));
const maxDrafts = opt("--max-draft", "8").split(",").map(Number);
const then = opt("--then", "");
const threads = Number(opt("--threads", "1"));
const draftPath = opt("--draft", "");
const exitLayers = opt("--draft-layers", "")
  .split(",")
  .filter((x) => x !== "")
  .map(Number);
const noLookup = args.includes("--no-lookup");
// draftPMin values for the draft-model and early-exit rows (one row each).
const pMins = opt("--p-min", "0").split(",").map(Number);
const ptag = (p: number) => (pMins.length > 1 ? `p${p}` : "");
const text = opt("--prompt", "Repeat the numbers then add them: 12 7 30 4 19 8 26 3 15 11");
const llm = await loadLLM(path, { parallel: 1, threads });
const withDraft = draftPath ? await loadLLM(path, { parallel: 1, threads, draft: draftPath }) : undefined;
type Mode = { name: string; llm: LLM; spec?: SpeculativeOptions };
const tag = (k: number) => (maxDrafts.length > 1 ? `/${k}` : "");
const modes: Mode[] = [
  { name: "plain", llm },
  ...(noLookup ? [] : maxDrafts).map((maxDraft) => ({
    name: `lookup${tag(maxDraft)}`,
    llm,
    spec: { method: "lookup" as const, ngram, minNgram, maxDraft, draftPerMatch: perMatch },
  })),
  ...exitLayers.flatMap((k) =>
    maxDrafts.flatMap((maxDraft) =>
      pMins.map((draftPMin) => ({
        name: `exit${k}${tag(maxDraft)}${ptag(draftPMin)}`,
        llm,
        spec: { method: "early-exit" as const, draftLayers: k, maxDraft, draftPMin },
      })),
    ),
  ),
  ...(withDraft
    ? maxDrafts.map((maxDraft) => ({
        name: `draft${tag(maxDraft)}`,
        llm: withDraft,
        spec: { method: "draft" as const, maxDraft, draftPMin: pMins[0] },
      }))
    : []),
];
try {
  let p = llm.encodeChat([{ role: "user", content: text }]);
  if (then) {
    const first = await llm.complete(p, { maxTokens: gen, temperature: 0 });
    p = llm.encodeChat([
      { role: "user", content: text },
      { role: "assistant", content: first.choices[0].text },
      { role: "user", content: then },
    ]);
  }
  const res: Record<
    string,
    {
      tps: number[];
      all: number[];
      steps: number;
      drafts: number;
      accepted: number;
      dfw: number;
      cached: number;
      tokens: number[];
    }
  > = {};
  for (let r = 0; r < rounds; r++) {
    for (const m of modes) {
      const s0 = m.llm.stats();
      const c0 = process.cpuUsage();
      // CPU from the first token (the prompt's prefill done) to the last: decode only.
      let c1: NodeJS.CpuUsage | undefined;
      const tokens: number[] = [];
      let cached = 0;
      for await (const c of m.llm.generate(p, {
        maxTokens: gen,
        temperature: 0,
        ...(m.spec ? { speculative: m.spec } : {}),
      })) {
        if (c.type === "token") {
          c1 ??= process.cpuUsage();
          tokens.push(c.token);
        } else cached = c.cachedTokens;
      }
      const all = process.cpuUsage(c0);
      const dec = process.cpuUsage(c1);
      const s1 = m.llm.stats();
      const e = (res[m.name] ??= {
        tps: [],
        all: [],
        steps: 0,
        drafts: 0,
        accepted: 0,
        dfw: 0,
        cached,
        tokens,
      });
      e.tps.push(((tokens.length - 1) * 1e6) / (dec.user + dec.system));
      e.all.push((tokens.length * 1e6) / (all.user + all.system));
      e.steps = s1.steps - s0.steps;
      e.drafts = s1.draftTokens - s0.draftTokens;
      e.accepted = s1.acceptedDraftTokens - s0.acceptedDraftTokens;
      e.dfw = s1.draftForwards - s0.draftForwards;
    }
  }
  console.log(
    `${llm.name}: ${p.length}-token prompt${then ? " (two turns)" : ""}, ${res.plain.tokens.length} tokens, greedy, threads ${threads}, ${rounds} rounds; lookup n-gram ${ngram}..${minNgram}, ${perMatch} per matched token; at most ${maxDrafts.join(",")} drafted${draftPath ? `; draft ${draftPath}` : ""}${exitLayers.length ? `; exitK = early exit after K of ${llm.engine.model.config.nLayers} layers` : ""}`,
  );
  for (const [k, e] of Object.entries(res))
    console.log(
      `  ${k.padEnd(12)} decode ${median(e.tps).toFixed(0)} tok/cpu-s x${(median(e.tps) / median(res.plain.tps)).toFixed(2)}  with prefill x${(median(e.all) / median(res.plain.all)).toFixed(2)}  target steps ${e.steps}  draft forwards ${e.dfw}  drafted ${e.drafts}, accepted ${e.accepted} (${e.drafts ? ((100 * e.accepted) / e.drafts).toFixed(0) : 0}%)  same output: ${e.tokens.join() === res.plain.tokens.join()}`,
    );
} finally {
  await llm.close();
  await withDraft?.close();
}
