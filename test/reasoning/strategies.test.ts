// Self-consistency (with and without adaptive stopping) and best-of-N over scripted candidates.
import { test } from "node:test";
import assert from "node:assert/strict";
import { InputError } from "../../src/errors.js";
import { selfConsistency } from "../../src/reasoning/self-consistency.js";
import { bestOfN } from "../../src/reasoning/best-of-n.js";
import { ArithmeticVerifier } from "../../src/verify/arithmetic.js";
import type { Verifier } from "../../src/verify/verifier.js";
import { scripted } from "./scripted.js";

const ans = (x: string) => `<think>\nwork\n</think>\nThe answer is ${x}.`;

test("self-consistency without early stop: all k vote, counts and agreement", async () => {
  const gen = scripted([ans("7"), ans("8"), ans("7"), "no answer", ans("7"), ans("8")]);
  const r = await selfConsistency(gen, { samples: 6, earlyStop: false, seed: 3, temperature: 0.8 });
  assert.equal(r.answer, "7");
  assert.deepEqual(
    r.counts.map((c) => [c.answer, c.votes]),
    [
      ["7", 3],
      ["8", 2],
    ],
  );
  assert.equal(r.agreement, 3 / 5);
  assert.equal(r.abstained, 1);
  assert.equal(r.samplesSaved, 0);
  assert.equal(r.stopReason, undefined);
  assert.equal(r.tokens, 24);
  assert.equal(gen.calls[0].n, 6);
  assert.equal(gen.calls[0].seed, 3);
  assert.equal(gen.calls[0].temperature, 0.8);
});

test("adaptive stopping: decided leader aborts the rest and reports samples saved", async () => {
  // Samples 0..4 finish first (2 steps) and all say 5; 5..15 are slow (20 steps).
  const steps = [2, 2, 2, 2, 2, ...new Array(11).fill(20)];
  const texts = [ans("5"), ans("5"), ans("5"), ans("5"), ans("5"), ...new Array(11).fill(ans("6"))];
  const gen = scripted(texts, steps);
  const r = await selfConsistency(gen, { samples: 16, earlyStop: { agreement: 0.9, minSamples: 5 } });
  assert.equal(r.answer, "5");
  assert.equal(r.stopReason, "agreement");
  assert.equal(r.samples, 5);
  assert.equal(r.samplesSaved, 11);
  // The slow samples were cut after a few tokens: far fewer than 11 * 20 were spent.
  assert.ok(r.tokens < 5 * 2 + 11 * 5, `tokens ${r.tokens}`);
  // Same data without early stop: the slow majority wins, showing the rule changed the outcome only by design.
  const full = await selfConsistency(scripted(texts, steps), { samples: 16, earlyStop: false });
  assert.equal(full.answer, "6");
  assert.equal(full.samplesSaved, 0);
});

test("adaptive stopping (decided rule) never changes the majority answer", async () => {
  // Random scripts: the early-stopped answer must equal the full vote whenever it stops as "decided".
  let seed = 11;
  const rnd = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
  for (let trial = 0; trial < 40; trial++) {
    const k = 1 + Math.floor(rnd() * 12);
    const texts = Array.from({ length: k }, () => ans(String(Math.floor(rnd() * 3))));
    const steps = Array.from({ length: k }, () => 1 + Math.floor(rnd() * 6));
    const early = await selfConsistency(scripted(texts, steps), { samples: k });
    const full = await selfConsistency(scripted(texts, steps), { samples: k, earlyStop: false });
    if (early.stopReason === "decided") assert.equal(early.answer, full.answer, `trial ${trial}`);
    assert.ok(early.samplesSaved >= 0 && early.samples + early.samplesSaved === k);
  }
});

test("self-consistency: bad input is typed; caller abort ends it", async () => {
  await assert.rejects(selfConsistency(scripted([ans("1")]), { samples: 0 }), InputError);
  await assert.rejects(
    selfConsistency(scripted([ans("1")]), { samples: 2, earlyStop: { agreement: 2 } }),
    InputError,
  );
  const ctl = new AbortController();
  ctl.abort();
  const r = await selfConsistency(scripted([ans("1")]), { samples: 4, signal: ctl.signal });
  assert.equal(r.answer, undefined);
  assert.equal(r.samplesSaved, 4);
});

test("best-of-N with the arithmetic verifier picks the right minority answer", async () => {
  const q = "What is 27 + 15?";
  const good =
    "<think>\n27 + 15\n7 + 5 + 0 = 12, write 2, carry 1\n2 + 1 + 1 = 4, write 4\nso 27 + 15 = 42\n</think>\nThe answer is 42.";
  const bad =
    "<think>\n27 + 15\n7 + 5 + 0 = 12, write 2, carry 1\n2 + 1 + 0 = 3, write 3\nso 27 + 15 = 32\n</think>\nThe answer is 32.";
  const texts = [bad, bad, good, bad, bad, bad, bad, bad];
  const r = await bestOfN(scripted(texts), { samples: 8, question: q, verifier: new ArithmeticVerifier() });
  assert.equal(r.answer, "42");
  assert.equal(r.best?.index, 2);
  assert.equal(r.candidates.length, 8);
  assert.ok(r.candidates.every((c) => typeof c.score === "number"));
  // Weighted voting: 7 wrong votes of ~0.15 each (>= 1.0 total) vs one of 1.0.
  const w = await bestOfN(scripted(texts), {
    samples: 8,
    question: q,
    verifier: new ArithmeticVerifier(),
    selection: "weighted",
  });
  assert.equal(w.vote.counts[0].answer, w.answer);
  assert.ok(Math.abs(w.vote.counts.find((c) => c.answer === "42")!.votes - 1) < 1e-9);
});

test("best-of-N weighted voting: agreement can beat a single high score", async () => {
  const scores: Record<string, number> = { A: 0.9, B: 0.6 };
  const v: Verifier = { name: "fake", verify: ({ answer }) => ({ score: scores[answer ?? ""] ?? 0 }) };
  const texts = ["Answer: A", "Answer: B", "Answer: B"];
  const best = await bestOfN(scripted(texts), { samples: 3, question: "?", verifier: v, selection: "best" });
  const weighted = await bestOfN(scripted(texts), {
    samples: 3,
    question: "?",
    verifier: v,
    selection: "weighted",
  });
  assert.equal(best.answer, "A");
  assert.equal(weighted.answer, "B");
  await assert.rejects(
    bestOfN(scripted(texts), { samples: 3, question: "?", verifier: v, selection: "x" as never }),
    InputError,
  );
});
