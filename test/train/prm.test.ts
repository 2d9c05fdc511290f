// The PRM (src/train/prm.ts). Labels: a judged line whose own arithmetic is wrong (recomputed here
// with BigInt, not by the rule checker) must be labelled wrong, and a result line "so a op b = c"
// must be labelled by whether a op b = c; both labels occur. Features: the scorer's teacher-forced
// log-probabilities equal the inference engine's log-probabilities of the tokens it chose (another
// implementation of the same model), whatever the batching. The head: logistic regression finds a
// threshold that separates the classes and weighs them equally. The verifier: scores in [0, 1],
// plan and header lines not judged, each candidate scored once.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadLLM } from "../../src/engine/llm.js";
import { Rng } from "../../src/sampling/rng.js";
import { trainBpe } from "../../src/train/bpe/trainer.js";
import { buildVocab, SPECIAL_TEXTS } from "../../src/train/bpe/vocab.js";
import { exportGGUF } from "../../src/train/export.js";
import type { TrainModelConfig } from "../../src/train/model/config.js";
import { LlamaTrainModel } from "../../src/train/model/llama.js";
import { initParams } from "../../src/train/model/params.js";
import {
  fitPrmHead,
  headProbability,
  isJudgedLine,
  lineFeatures,
  PRM_FEATURES,
  prmExamples,
  PrmScorer,
  PrmVerifier,
} from "../../src/train/prm.js";
import { V2UNITS_DATA, V2_MODEL_DATA } from "../../src/train/presets.js";

function ownArithmetic(line: string): boolean | undefined {
  let m = line.match(/^(?:so |所以 )?(-?\d+) ([+\-×]) (\d+) = (-?\d+)$/);
  if (m) {
    const [a, b, c] = [BigInt(m[1]), BigInt(m[3]), BigInt(m[4])];
    return (m[2] === "+" ? a + b : m[2] === "-" ? a - b : a * b) === c;
  }
  m = line.match(/^(\d) ([×+]) (\d) \+ (\d) = (\d+)[,，] (?:write|写) (\d)[,，] (?:carry|进) (\d)/);
  if (m) {
    const [a, b, c, s, d, c2] = [m[1], m[3], m[4], m[5], m[6], m[7]].map(Number);
    const sum = m[2] === "×" ? a * b + c : a + b + c;
    return s === sum && d === s % 10 && c2 === Math.floor(s / 10);
  }
  return undefined;
}

test("PRM examples: labels agree with independent arithmetic; both labels occur", () => {
  for (const data of [V2_MODEL_DATA, V2UNITS_DATA]) {
    const ex = prmExamples(400, data, 3);
    assert.ok(ex.length > 300);
    let checked = 0;
    for (const e of ex) {
      assert.ok(e.question.length > 0);
      const last = e.lines[e.lines.length - 1];
      assert.ok(isJudgedLine(last), last);
      const own = ownArithmetic(last);
      if (own === undefined) continue;
      checked++;
      if (!own) assert.equal(e.ok, false, last);
      if (/^(?:so |所以 )?-?\d+ [+\-×] \d+ = -?\d+$/.test(last)) assert.equal(e.ok, own, last);
    }
    assert.ok(checked > 100, `${checked} lines recomputed`);
    const yes = ex.filter((e) => e.ok).length;
    assert.ok(yes > ex.length * 0.3 && yes < ex.length * 0.7, `${yes}/${ex.length} yes`);
  }
});

test("PRM head: separates by a threshold and weighs both classes equally", () => {
  const rng = new Rng(4);
  // 90% positives; the true boundary is x0 = -1 (features other than x0 are noise)
  const xs: number[][] = [];
  const ys: boolean[] = [];
  for (let i = 0; i < 1000; i++) {
    const y = i % 10 !== 0;
    const x0 = y ? rng.uniform() * 3 - 0.9 : -1.1 - rng.uniform() * 3;
    xs.push([x0, ...Array.from({ length: PRM_FEATURES.length - 1 }, () => rng.normal())]);
    ys.push(y);
  }
  const h = fitPrmHead(xs, ys, "m.gguf");
  let right = 0;
  xs.forEach((x, i) => (right += headProbability(h, x) >= 0.5 === ys[i] ? 1 : 0));
  assert.ok(right >= 990, `${right}/1000`);
  assert.ok(headProbability(h, [-1.5, 0, 0, 0, 0, 0]) < 0.5);
  assert.ok(headProbability(h, [-0.5, 0, 0, 0, 0, 0]) > 0.5);
  assert.throws(() => fitPrmHead([[1], [2]], [true, true], "m.gguf"), /both labels/);
});

test("PRM scorer = the engine's log-probabilities; verifier scores once per candidate", async () => {
  const dir = mkdtempSync(join(tmpdir(), "prm-"));
  try {
    const vocab = buildVocab(
      trainBpe(["so far 12, write 2, carry 1 + 3 = 4 × 5 plan: 0123456789 what is"], {
        vocabSize: 300,
        specials: SPECIAL_TEXTS,
      }),
    );
    const cfg: TrainModelConfig = {
      vocab: vocab.tokens.length,
      dim: 32,
      layers: 2,
      heads: 4,
      kvHeads: 2,
      ffn: 48,
      ctx: 512,
      ropeBase: 10000,
      normEps: 1e-5,
      tied: true,
    };
    const m = new LlamaTrainModel(cfg, 1, 8);
    const rng = new Rng(11);
    initParams(m.params, m.layout, cfg, rng);
    for (let i = 0; i < m.params.length; i++) m.params[i] += rng.normal() * 0.2;
    const path = join(dir, "m.gguf");
    await exportGGUF(path, cfg, m.params, vocab, { name: "prm-test", type: "f32" });

    const scorer = await PrmScorer.load(path);
    const llm = await loadLLM(path, { kernels: "ts" });
    try {
      // engine: greedy continuations with their chosen tokens' log-probabilities, two prompt lengths
      const seqs = [];
      const want: number[][] = [];
      for (const q of ["what is 12 × 5?", "what is 4 + 3 + 12 × 5 + 1?"]) {
        const s = scorer.sequence(q, ["plan: 12 × 5"]);
        const gen: number[] = [];
        const lp: number[] = [];
        const n = q.length > 20 ? 140 : 20; // the second one crosses into the 256 bucket
        for await (const c of llm.generate(s.ids, {
          maxTokens: n,
          temperature: 0,
          ignoreEos: true,
          logprobs: 0,
        })) {
          if (c.type !== "token") continue;
          gen.push(c.token);
          lp.push(c.logprob!.logprob);
        }
        const L = s.ids.length;
        seqs.push({ ids: [...s.ids, ...gen], spans: [...s.spans, [L, L + gen.length] as [number, number]] });
        want.push(lp);
      }
      for (const batch of [1, 2]) {
        const got = await scorer.lineLogprobs(seqs, batch);
        got.forEach((lines, i) => {
          const g = lines[1];
          assert.equal(g.length, want[i].length);
          g.forEach((v, j) =>
            assert.ok(
              Math.abs(v - want[i][j]) < 2e-3,
              `batch ${batch} seq ${i} tok ${j}: ${v} vs ${want[i][j]}`,
            ),
          );
        });
      }
      // a sequence longer than the last bucket keeps its end: its first line is cut off
      const long = scorer.sequence(
        "q",
        Array.from({ length: 200 }, (_, i) => `so far ${i}`),
      );
      const [cut] = await scorer.lineLogprobs([long]);
      assert.equal(cut[0].length, 0);
      assert.ok(cut[199].length > 0);

      const head = fitPrmHead(
        [lineFeatures([-0.1, -0.2]), lineFeatures([-5, -0.1, -0.3])],
        [true, false],
        path,
      );
      const prm = new PrmVerifier(scorer, head);
      const text =
        "<think>\nPlan: 27 + 15\n27 + 15\n7 + 5 + 0 = 12, write 2, carry 1, so far 2\nso 27 + 15 = 42\n</think>\n42";
      const ps = await prm.lineScores("what is 27 + 15?", [
        "Plan: 27 + 15",
        "27 + 15",
        "7 + 5 + 0 = 12, write 2, carry 1, so far 2",
        "so 27 + 15 = 42",
      ]);
      assert.equal(ps[0], null);
      assert.equal(ps[1], null);
      assert.ok(ps[2] !== null && ps[3] !== null);
      const v = await prm.verify({ question: "what is 27 + 15?", text });
      assert.equal(v.score, Math.min(ps[2]!, ps[3]!));
      assert.equal(prm.scored, 1);
      await prm.verify({ question: "what is 27 + 15?", text });
      assert.equal(prm.scored, 1, "cached");
      const none = await prm.verify({ question: "q", text: "<think>\nPlan: 3 + 4\n" });
      assert.equal(none.score, 0.5);
    } finally {
      await llm.close();
      await scorer.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
