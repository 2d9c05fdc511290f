// Answer extractors on hand-written candidate texts (en/zh final lines, boxed, last number, caller
// regex), vote counting with agreement ratio, and the adaptive stopping rule.
import { test } from "node:test";
import assert from "node:assert/strict";
import { InputError } from "../../src/errors.js";
import {
  autoExtract,
  extractBoxed,
  extractFinal,
  extractLastNumber,
  makeExtractor,
  normalizeAnswer,
  regexExtractor,
} from "../../src/verify/extract.js";
import { VoteTracker, vote } from "../../src/verify/vote.js";

test("final-answer line: English and Chinese, last one wins, thinking ignored", () => {
  assert.equal(extractFinal("<think>Answer: 5? no</think>\nAnswer: 12"), "12");
  assert.equal(extractFinal("so 3+4=7.\nFinal answer: 7."), "7");
  assert.equal(extractFinal("The answer is 1,024\nmore text"), "1024");
  assert.equal(extractFinal("答案：42"), "42");
  assert.equal(extractFinal("所以最终答案是 -3。"), "-3");
  assert.equal(extractFinal("Answer: \\boxed{x+1}"), "x+1");
  assert.equal(extractFinal("Answer: 3\nAnswer: 4"), "4");
  assert.equal(extractFinal("The answer is 30. Hope that helps!"), "30");
  assert.equal(extractFinal("答案是 47。<|im_end|>"), "47");
  assert.equal(extractFinal("Answer: 3x + 1"), "3x + 1", "a number that starts an expression is not cut out");
  assert.equal(extractFinal("Answer: 3 + 1 = 4"), "3 + 1 = 4");
  assert.equal(extractFinal("no marker here 17"), undefined);
  assert.equal(extractFinal("<think>Answer: 9"), undefined, "an unclosed thinking block holds no answer");
});

test("boxed: balanced braces, last box", () => {
  assert.equal(extractBoxed("\\boxed{1} then \\boxed{\\frac{1}{2}}"), "\\frac{1}{2}");
  assert.equal(extractBoxed("\\boxed{unclosed"), undefined);
  assert.equal(extractBoxed("$\\boxed{ 2.50 }$"), "2.5");
});

test("last number: signs, decimals, separators; not inside words", () => {
  assert.equal(extractLastNumber("x2 is 3, then -4.5"), "-4.5");
  assert.equal(extractLastNumber("total 1,234,567 apples"), "1234567");
  assert.equal(extractLastNumber("<think>99</think>none"), undefined);
  assert.equal(extractLastNumber("abc"), undefined);
});

test("caller regex: group 1 or whole match; bad regex is an InputError", () => {
  const r = regexExtractor("RESULT=(\\w+)");
  assert.equal(r("RESULT=a RESULT=b"), "b");
  assert.equal(regexExtractor(/[A-D]\b/)("pick B or C"), "C");
  assert.equal(r("nothing"), undefined);
  assert.throws(() => regexExtractor("(["), InputError);
  assert.throws(() => makeExtractor("nope" as never), InputError);
});

test("auto: final, then boxed, then number; normalisation", () => {
  assert.equal(autoExtract("7 then Answer: 8"), "8");
  assert.equal(autoExtract("it is \\boxed{9} or 10"), "9");
  assert.equal(autoExtract("it is 10"), "10");
  assert.equal(normalizeAnswer(" +3.50 "), "3.5");
  assert.equal(normalizeAnswer("-0"), "0");
  assert.equal(normalizeAnswer("Paris."), "Paris");
});

test("vote: counts, agreement ratio over votes cast, first-seen tie break, abstentions", () => {
  const r = vote(["4", "5", undefined, "4", "5", "6"]);
  assert.equal(r.answer, "4");
  assert.deepEqual(
    r.counts.map((c) => [c.answer, c.votes, c.samples]),
    [
      ["4", 2, [0, 3]],
      ["5", 2, [1, 4]],
      ["6", 1, [5]],
    ],
  );
  assert.equal(r.agreement, 2 / 5);
  assert.equal(r.samples, 6);
  assert.equal(r.abstained, 1);
  assert.equal(vote([undefined]).answer, undefined);
  assert.equal(vote([]).agreement, 0);
  // weighted: one confident vote beats two weak ones
  assert.equal(vote(["a", "b", "b"], [0.9, 0.3, 0.3]).answer, "a");
  assert.throws(() => vote(["a"], [1, 2]), InputError);
  assert.throws(() => new VoteTracker().add("a", -1), InputError);
});

test("adaptive stopping: decided only when the leader cannot be caught", () => {
  const t = new VoteTracker();
  const k = 8;
  const seq = ["7", "7", "7", "3", "7"];
  const stops: (string | undefined)[] = [];
  for (const a of seq) {
    t.add(a);
    stops.push(t.shouldStop(k - t.samples));
  }
  // after 5: 4 vs 1 with 3 left: 4 > 1+3? no (tie possible)
  assert.deepEqual(stops, [undefined, undefined, undefined, undefined, undefined]);
  t.add("7"); // 5 vs 1 with 2 left -> decided
  assert.equal(t.shouldStop(k - t.samples), "decided");
  // decided rule off: never stops on that ground
  assert.equal(t.shouldStop(k - t.samples, { decided: false }), undefined);
});

test("adaptive stopping: agreement threshold after minSamples", () => {
  const t = new VoteTracker();
  t.add("1");
  t.add("1");
  assert.equal(t.shouldStop(14, { agreement: 0.8 }), undefined, "only 2 votes < minSamples 3");
  t.add("1");
  assert.equal(t.shouldStop(13, { agreement: 0.8 }), "agreement");
  t.add("2");
  assert.equal(t.shouldStop(12, { agreement: 0.8 }), undefined, "3/4 < 0.8");
  assert.equal(t.shouldStop(12, { agreement: 0.75, minSamples: 4 }), "agreement");
  // every sample so far abstained: nothing to stop on
  const u = new VoteTracker();
  u.add(undefined);
  assert.equal(u.shouldStop(0), undefined);
});
