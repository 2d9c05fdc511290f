// MCTS expansion: children must be distinct lines. A seeded toy generator draws each next line
// from a fixed distribution (tempered by the temperature, argmax at 0, like the engine's sampler).
// At an uncertain line (p = 0.8 / 0.2, what a confident model's digit line looks like) two plain
// samples are the same line most of the time (0.8² + 0.2² = 0.68), so the node gets one child;
// the diverse expansion gives the greedy line plus a distinct sibling. At a confident line
// (p >= branchBelow) it spends one greedy line and does not branch.
import { test } from "node:test";
import assert from "node:assert/strict";
import { InputError } from "../../src/errors.js";
import { mcts } from "../../src/reasoning/mcts.js";
import type { Step, StepGenerator } from "../../src/reasoning/step-search.js";
import { Rng, hash32 } from "../../src/sampling/rng.js";
import type { Verifier } from "../../src/verify/verifier.js";

type Dist = [string, number][];
/** prefix -> next-line distribution; every line is 5 tokens (cut below a cap of 5); a line without "\n" ends. */
function toy(dist: (prefix: string) => Dist): StepGenerator & { spent: number } {
  const g = async (prefix: string, o: Parameters<StepGenerator>[1]): Promise<Step[]> => {
    const d = dist(prefix);
    const rng = new Rng(hash32(`toy:${o.seed ?? 0}:${prefix}`));
    const t = o.temperature ?? 1;
    const w = d.map(([, p]) => (t === 0 ? 0 : p ** (1 / t)));
    const sum = w.reduce((a, b) => a + b, 0);
    return Array.from({ length: o.n }, () => {
      let i = d.reduce((b, x, j) => (x[1] > d[b][1] ? j : b), 0);
      if (t > 0) {
        let u = rng.uniform() * sum;
        for (i = 0; i < d.length - 1 && (u -= w[i]) >= 0; i++);
      }
      const [text, p] = d[i];
      const cap = o.maxTokens ?? 5;
      g.spent += Math.min(5, cap);
      if (cap < 5)
        return { text: text.slice(0, 1), done: true, cut: true, tokens: cap, logprob: Math.log(p) };
      return { text, done: !text.endsWith("\n"), tokens: 5, logprob: Math.log(p) };
    });
  };
  g.spent = 0;
  return g;
}
const flat: Verifier = { name: "flat", verify: async () => ({ score: 0.5 }) };

const UNSURE: Dist = [
  ["a\n", 0.8],
  ["b\n", 0.2],
];
// the root's lines are uncertain; after them the answer is certain
const unsure = (prefix: string): Dist => (prefix === "" ? UNSURE : [["The answer is 1.", 1]]);

test("k = 2 at an uncertain line: plain samples often merge into one child, diverse gives two distinct", async () => {
  let plainMerged = 0;
  let diverseDistinct = 0;
  const seeds = Array.from({ length: 40 }, (_, i) => i + 1);
  for (const seed of seeds) {
    const o = { question: "q", verifier: flat, expand: 2, budget: 200, seed, target: 2 };
    const plain = await mcts(toy(unsure), { ...o, expansion: "sample" });
    const kids = plain.root.children!;
    if (kids.length === 1) {
      plainMerged++;
      assert.equal(kids[0].count, 2);
      assert.equal(kids[0].prior, 1);
    }
    const diverse = await mcts(toy(unsure), o);
    const texts = diverse.root.children!.map((c) => c.text);
    assert.equal(texts[0], "a\n", "the greedy line is the first child");
    if (texts.length === 2 && new Set(texts).size === 2) diverseDistinct++;
    // distinct siblings each come from one draw; a repeat only when all redraws repeated
    if (texts.length === 2) assert.ok(diverse.root.children!.every((c) => c.count === 1));
  }
  // P(merge) = 0.68 per seed: 40 seeds give ~27. Diverse: the first draw repeats "a" with p 0.8,
  // then 3 rounds of 2 hotter draws (T 1.5, 2.25, 3.4: p(a) 0.72, 0.65, 0.60) all repeat with
  // p 0.51 x 0.42 x 0.36: P(no distinct sibling) ~ 0.06, ~2.5 of 40
  assert.ok(plainMerged >= 18, `plain merged at ${plainMerged}/40 roots`);
  assert.ok(diverseDistinct >= 34, `diverse distinct at ${diverseDistinct}/40 roots`);
});

test("diverse: a confident line is not branched; the priors follow the lines' probabilities", async () => {
  const sure = (prefix: string): Dist =>
    prefix === ""
      ? [
          ["x\n", 0.95],
          ["y\n", 0.05],
        ]
      : [["The answer is 2.", 1]];
  const gen = toy(sure);
  const r = await mcts(gen, { question: "q", verifier: flat, expand: 4, budget: 200, seed: 3, target: 2 });
  assert.deepEqual(
    r.root.children!.map((c) => c.text),
    ["x\n"],
  );
  // 1 greedy line at the root + 1 at "x\n": no samples drawn
  assert.equal(r.tokens, 10);
  assert.equal(gen.spent, 10);
  // a lower threshold branches it: two distinct children, priors 0.95 : 0.05
  const b = await mcts(toy(sure), {
    question: "q",
    verifier: flat,
    expand: 2,
    budget: 200,
    seed: 3,
    target: 2,
    branchBelow: 0.99,
    redraws: 8,
  });
  const kids = b.root.children!;
  assert.deepEqual(
    kids.map((c) => c.text),
    ["x\n", "y\n"],
  );
  assert.ok(Math.abs(kids[0].prior - 0.95) < 1e-9 && Math.abs(kids[1].prior - 0.05) < 1e-9);
  assert.ok(b.redrawn >= 1, "y (p 0.05) needed hotter redraws");
  for (const bad of [
    { branchBelow: 2 },
    { redraws: -1 },
    { redrawHeat: 0.5 },
    { expansion: "x" as "sample" },
  ])
    await assert.rejects(() => mcts(toy(sure), { question: "q", verifier: flat, ...bad }), InputError);
});

test("diverse: the budget stays a hard cap with redraws", async () => {
  for (const budget of [12, 23, 40, 75]) {
    const gen = toy(unsure);
    const r = await mcts(gen, { question: "q", verifier: flat, expand: 4, budget, seed: 9, target: 2 });
    assert.ok(r.tokens <= budget && gen.spent === r.tokens, `budget ${budget}: ${r.tokens} (${gen.spent})`);
  }
});
