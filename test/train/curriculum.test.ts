/**
 * The reverse curriculum of hints for GRPO (src/train/rl/curriculum.ts): hinted prompts are the chat
 * prefix plus the first lines of the worked solution; the hint shrinks when a group is all right and
 * grows when it is all wrong; a GRPO run with the curriculum resumes into exactly the state of an
 * uninterrupted run; no problem of the eval's held-out split enters the problem pool.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HintCurriculum, type WorkedProblem } from "../../src/train/rl/curriculum.js";
import { runGrpo } from "../../src/train/rl/grpo.js";
import { modelSampler } from "../../src/train/rl/sampler.js";
import { workedProblems } from "../../src/train/rl/stages.js";
import { generateDataset } from "../../src/train/data/generate.js";
import { V2_MODEL_DATA, V2UNITS_DATA } from "../../src/train/presets.js";
import { initParams, paramLayout } from "../../src/train/model/params.js";
import { Rng } from "../../src/sampling/rng.js";

// a toy encoder: one id per character, within a vocabulary of 11
const encode = (t: string) => [...t].map((c) => (c.charCodeAt(0) % 10) + 1);

function problem(lines: number, shape = "toy"): WorkedProblem {
  const work = Array.from({ length: lines }, (_, i) => `l${i}`);
  return {
    prefix: "Q:",
    lines: ["<think>", ...work, "</think>", "A 5"],
    answer: "5",
    key: `toy:${lines}`,
    shape,
  };
}

test("hint curriculum: prompt = prefix + first lines; longest hint stops two lines before </think>", () => {
  const p = problem(8);
  const c = new HintCurriculum([p], encode, { maxTokens: 100, slack: 1, margin: 0 });
  // </think> is line 9, so the longest hint is 7 lines: <think> and l0..l5 (l6, l7 are left to write)
  assert.equal(c.maxLevel[0], 7);
  assert.deepEqual(c.prompt(0, 0).ids, encode("Q:"));
  assert.deepEqual(c.prompt(0, 3).ids, encode("Q:<think>\nl0\nl1\n"));
  // the token cap is the rest of the reference (tokens + the end-of-turn) when slack 1 and margin 0
  assert.equal(c.prompt(0, 3).maxTokens, encode("l2\nl3\nl4\nl5\nl6\nl7\n</think>\nA 5").length + 1);
  assert.equal(c.prompt(0, 3).hint, 3);
});

test("hint curriculum: all wrong lengthens the hint, all right shortens it, solved and given-up retire", () => {
  const c = new HintCurriculum([problem(8), problem(8, "b")], encode, {
    maxTokens: 100,
    stride: () => 3,
  });
  const at = (i: number) => c.state().level[i];
  const p0 = () => c.prompt(0, at(0));
  c.update([p0()], [0]);
  assert.equal(at(0), 3);
  c.update([p0()], [0]);
  assert.equal(at(0), 6);
  c.update([p0()], [0]);
  assert.equal(at(0), 7, "capped at the longest hint");
  c.update([p0()], [0.25]);
  assert.equal(at(0), 7, "mixed, mostly wrong: unchanged");
  c.update([p0()], [0.75]);
  assert.equal(at(0), 6, "mixed, mostly right: one line shorter");
  c.update([p0()], [1]);
  assert.equal(at(0), 3);
  c.update([p0()], [1]);
  c.update([p0()], [1]);
  assert.equal(at(0), 0);
  assert.equal(c.state().status[0], 1, "all right without a hint: solved");
  // problem 1: all wrong at the longest hint gives up
  for (let k = 0; k < 4; k++) c.update([c.prompt(1, at(1))], [0]);
  assert.equal(c.state().status[1], 2);
  assert.throws(() => c.pick(0, 2, new Rng(1)), /retired/);
  assert.deepEqual(c.state().visits, [8, 4]);
});

test("hint curriculum: pick draws distinct active problems, a pure function of state and generator", () => {
  const ps = Array.from({ length: 6 }, (_, i) => problem(4 + i));
  const c = new HintCurriculum(ps, encode, { maxTokens: 100 });
  c.update([c.prompt(2, 0)], [1]); // solved: never drawn again
  const a = c.pick(0, 5, new Rng(9)).map((p) => p.source);
  const b = c.pick(0, 5, new Rng(9)).map((p) => p.source);
  assert.deepEqual(a, b);
  assert.equal(new Set(a).size, 5);
  assert.ok(!a.includes(2));
  const twice = c.pick(0, 7, new Rng(3)).map((p) => p.source);
  assert.equal(twice.length, 7, "fewer active problems than P: some repeat");
  const s = c.state();
  const d = new HintCurriculum(ps, encode, { maxTokens: 100 });
  d.restore(s);
  assert.deepEqual(d.state(), s);
  assert.throws(
    () => new HintCurriculum(ps.slice(1), encode, { maxTokens: 100 }).restore(s),
    /does not match/,
  );
});

test("GRPO with the hint curriculum resumes into the state of an uninterrupted run", async () => {
  const cfg = {
    vocab: 11,
    dim: 16,
    layers: 1,
    heads: 2,
    kvHeads: 1,
    ffn: 32,
    ctx: 24,
    ropeBase: 10000,
    normEps: 1e-5,
    tied: true,
  };
  const layout = paramLayout(cfg);
  const init = new Float32Array(layout.total);
  initParams(init, layout, cfg, new Rng(7));
  const problems = [3, 4, 5, 6].map((n) => ({
    ...problem(n),
    prefix: "",
    lines: ["<think>", ...Array.from({ length: n }, () => "1"), "</think>", "5"],
  }));
  const dir = await mkdtemp(join(tmpdir(), "edgellm-curriculum-"));
  try {
    const run = (steps: number, ckpt: string, resume: boolean, stopAt = 0) => {
      const source = new HintCurriculum(problems, encode, { maxTokens: 3, start: 0.5 });
      return runGrpo({
        config: cfg,
        init,
        prompts: [],
        source: { name: "hints:test", source },
        sampler: modelSampler(cfg, 10, 0),
        reward: (c) => (c[0] === 5 ? 1 : 0),
        pad: 0,
        steps,
        promptsPerStep: 2,
        group: 4,
        rows: 4,
        lr: 3e-2,
        maxTokens: 3,
        seqLen: 20,
        seed: 1,
        threads: 1,
        checkpointPath: join(dir, ckpt),
        checkpointEvery: 1,
        resume,
        // an interruption: the step's stats are reported before its checkpoint is written
        onStep: (s) => {
          if (s.step === stopAt) throw new Error("interrupted");
        },
      }).then((r) => ({ r, source }));
    };
    const straight = await run(5, "a.ckpt", false);
    await assert.rejects(run(5, "b.ckpt", false, 3), /interrupted/);
    const resumed = await run(5, "b.ckpt", true);
    assert.deepEqual(resumed.source.state(), straight.source.state());
    assert.deepEqual(Array.from(resumed.r.params), Array.from(straight.r.params));
    assert.equal(resumed.r.history.length, 5);
    // at most one group (rows 4 = G) trained per step
    assert.ok(straight.r.history.every((h) => h.trained <= 4));
    assert.ok(straight.source.state().visits.reduce((a, b) => a + b, 0) > 0);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("worked problems come from the training split and none is in the v2 eval's held-out split", () => {
  const ps = workedProblems(V2UNITS_DATA, 400, ["mul", "word"], { hard: true, heldOut: V2_MODEL_DATA });
  assert.equal(ps.length, 400);
  const held = generateDataset({ ...V2_MODEL_DATA, counts: { train: 0, val: 500, test: 1000 } });
  const heldKeys = new Set([...held.val, ...held.test].map((e) => e.key));
  assert.equal(ps.filter((p) => heldKeys.has(p.key)).length, 0);
  for (const p of ps) {
    assert.ok(p.lines.includes("</think>"));
    if (p.shape.startsWith("mul")) {
      const [a, b] = p.key.split(":").slice(1);
      assert.ok((a.length >= 2 && b.length >= 2) || a.length >= 3 || b.length >= 3, p.key);
    }
  }
});
