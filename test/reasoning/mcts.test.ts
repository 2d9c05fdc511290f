// MCTS over reasoning lines (src/reasoning/mcts.ts). A toy step generator holds a next-line
// distribution for "What is 27 + 15?" in the column format: at the first digit line the likely
// line (p = 0.7) drops the carry, so following the most likely line (greedy) ends on 32; the
// right line has p = 0.3. The process verifier (train/rl/process-verifier.ts) scores each prefix;
// the expected answer is JavaScript's 27 + 15. Then: the budget is a hard cap, the search is
// reproducible from its seed, bad options are typed errors, and on a real (random-weight) model
// the expansions reuse the prefix KV from the prefix cache.
import { test } from "node:test";
import assert from "node:assert/strict";
import { InputError } from "../../src/errors.js";
import { LLM } from "../../src/engine/llm.js";
import { mcts } from "../../src/reasoning/mcts.js";
import { llmStepGenerator, type Step, type StepGenerator } from "../../src/reasoning/step-search.js";
import { runStrategy } from "../../src/reasoning/strategy.js";
import { parseStrategy } from "../../src/reasoning/strategy.js";
import { columnProcessVerifier } from "../../src/train/rl/process-verifier.js";
import { prompt, smallModel } from "../engine/helpers.js";

const Q = "What is 27 + 15?";
const RIGHT = String(27 + 15);

/** prefix -> [line, probability, tokens][]; a line without "\n" ends the answer. */
const TREE: Record<string, [string, number, number][]> = {
  "": [["<think>\n", 1, 1]],
  "<think>\n": [["27 + 15\n", 1, 4]],
  "<think>\n27 + 15\n": [
    ["7 + 5 + 0 = 12, write 2, carry 0, so far 2\n", 0.7, 12],
    ["7 + 5 + 0 = 12, write 2, carry 1, so far 2\n", 0.3, 12],
  ],
};
function next(prefix: string): [string, number, number][] {
  if (TREE[prefix]) return TREE[prefix];
  const wrong = prefix.includes("carry 0, so far 2\n");
  const lines = prefix.split("\n").length - 1;
  const script = wrong
    ? ["2 + 1 + 0 = 3, write 3, carry 0, so far 32\n", "so 27 + 15 = 32\n", "</think>\n", "The answer is 32."]
    : [
        "2 + 1 + 1 = 4, write 4, carry 0, so far 42\n",
        "so 27 + 15 = 42\n",
        "</think>\n",
        "The answer is 42.",
      ];
  return [[script[lines - 3], 1, 10]];
}

/**
 * The toy generator: stratified draws from the next-line distribution (sample i of a call takes
 * the line at quantile (u + i) / n, u from the seed), temperature 0 = the most likely line; it
 * honours maxTokens (a longer line is cut) and counts every token it hands out.
 */
function toy(): StepGenerator & { spent: number; calls: number } {
  const g = async (prefix: string, o: Parameters<StepGenerator>[1]): Promise<Step[]> => {
    g.calls++;
    const opts = next(prefix);
    const u = ((((o.seed ?? 0) * 0.6180339887) % 1) + 1) % 1;
    return Array.from({ length: o.n }, (_, i) => {
      let pick = opts[0];
      if (o.temperature === 0) pick = opts.reduce((a, b) => (b[1] > a[1] ? b : a));
      else {
        let x = (u + i) / o.n - Math.floor((u + i) / o.n);
        for (const c of opts) {
          pick = c;
          if ((x -= c[1]) < 0) break;
        }
      }
      const [line, p, len] = pick;
      const cap = o.maxTokens ?? Infinity;
      const tokens = Math.min(len, cap);
      g.spent += tokens;
      if (len > cap) return { text: line.slice(0, 3), done: true, cut: true, tokens, logprob: Math.log(p) };
      return { text: line, done: !line.endsWith("\n"), tokens, logprob: Math.log(p) };
    });
  };
  g.spent = 0;
  g.calls = 0;
  return g;
}

/** Follow the most likely line to the end (what greedy decoding does on this distribution). */
async function greedy(gen: StepGenerator): Promise<string> {
  let text = "";
  for (;;) {
    const [s] = await gen(text, { n: 1, temperature: 0 });
    text += s.text;
    if (s.done) return text;
  }
}

test("toy: greedy misses the carry; MCTS with the process verifier finds the right answer", async () => {
  const g = await greedy(toy());
  assert.match(g, /The answer is 32\./);
  assert.notEqual((await columnProcessVerifier.verify({ question: Q, text: g })).score, 1);
  for (const seed of [1, 2, 3, 7, 11]) {
    const gen = toy();
    const r = await mcts(gen, { question: Q, verifier: columnProcessVerifier, expand: 4, budget: 400, seed });
    assert.equal(r.answer, RIGHT, `seed ${seed}`);
    assert.equal(r.stopReason, "target");
    assert.equal(r.tokens, gen.spent);
    // the wrong branch was seen (and valued below the right one)
    const third = r.root.children![0].children![0].children!;
    assert.equal(third.length, 2, "both digit lines are children");
    const [bad, good] = [...third].sort((a, b) => a.value - b.value);
    assert.ok(bad.prior > good.prior, "the wrong line is the likelier one");
    assert.ok(good.value > bad.value);
  }
});

test("budget: tokens never exceed it; a small budget ends without reaching the answer", async () => {
  for (const budget of [8, 30, 57, 100, 1000]) {
    const gen = toy();
    const r = await mcts(gen, { question: Q, verifier: columnProcessVerifier, expand: 2, budget, seed: 5 });
    assert.equal(r.tokens, gen.spent);
    assert.ok(r.tokens <= budget, `budget ${budget}: spent ${r.tokens}`);
    if (budget <= 30) assert.notEqual(r.answer, RIGHT);
  }
  // with the stop on a verified answer turned off, the search spends up to the budget
  const gen = toy();
  const r = await mcts(gen, {
    question: Q,
    verifier: columnProcessVerifier,
    budget: 300,
    target: 2,
    seed: 1,
  });
  assert.ok(r.tokens <= 300);
  assert.equal(r.answer, RIGHT);
  assert.ok(r.stopReason === "budget" || r.stopReason === "exhausted");
});

test("a verifier's own accept threshold stops the search (a probability rarely reaches 1)", async () => {
  // the process verifier's score scaled into [0.1, 0.8]: a right answer scores 0.8, never 1
  const scaled = (accept?: number) => ({
    name: "scaled",
    accept,
    async verify(i: Parameters<typeof columnProcessVerifier.verify>[0]) {
      const v = await columnProcessVerifier.verify(i);
      return { score: 0.1 + 0.7 * v.score };
    },
  });
  const spend = await mcts(toy(), { question: Q, verifier: scaled(), expand: 4, budget: 400, seed: 1 });
  assert.notEqual(spend.stopReason, "target", "without accept, 0.8 < 1 never stops the search");
  const stop = await mcts(toy(), { question: Q, verifier: scaled(0.75), expand: 4, budget: 400, seed: 1 });
  assert.equal(stop.stopReason, "target");
  assert.equal(stop.answer, RIGHT);
  assert.ok(stop.tokens < spend.tokens, `${stop.tokens} < ${spend.tokens}`);
});

test("same seed, same search; bad options are typed errors", async () => {
  const run = (seed: number) =>
    mcts(toy(), { question: Q, verifier: columnProcessVerifier, expand: 3, seed });
  const [a, b] = [await run(9), await run(9)];
  assert.equal(a.text, b.text);
  assert.equal(a.tokens, b.tokens);
  assert.equal(a.expansions, b.expansions);
  for (const bad of [{ budget: 0 }, { expand: 17 }, { maxSteps: 1.5 }, { cPuct: -1 }]) {
    await assert.rejects(mcts(toy(), { question: Q, verifier: columnProcessVerifier, ...bad }), InputError);
  }
  assert.equal(parseStrategy("mcts"), "mcts");
  assert.throws(() => parseStrategy("tree"), InputError);
});

test("runStrategy mcts needs a verifier and a line generator", async () => {
  const plain = Object.assign(async function* () {}, {});
  await assert.rejects(runStrategy(plain, { strategy: "mcts", verifier: columnProcessVerifier }), InputError);
  await assert.rejects(runStrategy(Object.assign(plain, { steps: toy() }), { strategy: "mcts" }), InputError);
  const r = await runStrategy(Object.assign(plain, { steps: toy() }), {
    strategy: "mcts",
    verifier: columnProcessVerifier,
    question: Q,
    samples: 4,
    budget: 500,
    seed: 2,
  });
  assert.equal(r.answer, RIGHT);
  assert.equal(r.content.trim(), "The answer is 42.");
});

test("LLM line generator: expansions after the first reuse the prefix KV; seeded runs agree", async () => {
  const m = await smallModel();
  try {
    const llm = new LLM(m.model, m.tokenizer, undefined, { parallel: 4 });
    const ids = prompt(40, 3);
    const run = async () => {
      // a bias on the newline byte token (<0x0A>) so the random model ends lines
      const nl = m.tokenizer.encode("a\nb", { addSpecial: false })[1];
      const gen = llmStepGenerator(llm, ids, 6, { logitBias: { [nl]: 4 } });
      const r = await mcts(gen, {
        question: "",
        verifier: { name: "flat", verify: () => ({ score: 0.5 }) },
        expand: 3,
        budget: 60,
        maxStepTokens: 6,
        temperature: 1,
        seed: 4,
      });
      return { r, stats: { ...gen.stats } };
    };
    const a = await run();
    assert.ok(a.r.tokens <= 60);
    assert.ok(a.r.expansions >= 2);
    // every call submits the prompt (and prefix); most of it comes from the prefix cache
    assert.ok(a.stats.calls >= 3 * a.r.expansions);
    assert.ok(a.stats.cachedTokens > a.stats.promptTokens / 2, JSON.stringify(a.stats));
    const b = await run();
    assert.equal(b.r.text, a.r.text);
    assert.equal(b.r.tokens, a.r.tokens);
    await llm.close();
  } finally {
    m.cleanup();
  }
});
