// The PRM's training labels and its Verifier plumbing (src/train/prm.ts). Labels: a judged line
// whose own arithmetic is wrong (recomputed here with BigInt, not by the rule checker) must be
// labelled "no", and a result line "so a op b = c" must be labelled by whether a op b = c; both
// labels occur. The verifier, on a random-weight model: scores in [0, 1], each line judged once
// (cached), plan lines not judged.
import { test } from "node:test";
import assert from "node:assert/strict";
import { LLM } from "../../src/engine/llm.js";
import { isJudgedLine, prmExamples, PrmVerifier } from "../../src/train/prm.js";
import { V2_MODEL_DATA } from "../../src/train/presets.js";
import { smallModel } from "../engine/helpers.js";

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
  const ex = prmExamples(400, V2_MODEL_DATA, 3);
  assert.ok(ex.length > 300);
  let checked = 0;
  for (const e of ex) {
    assert.equal(e.messages.length, 2);
    assert.equal(e.messages[1].content, e.ok ? "yes" : "no");
    const last = e.messages[0].content.split("\n").pop()!;
    assert.ok(isJudgedLine(last), last);
    const own = ownArithmetic(last);
    if (own === undefined) continue;
    checked++;
    if (!own) assert.equal(e.ok, false, last);
    if (/^(?:so |所以 )?-?\d+ [+\-×] \d+ = -?\d+$/.test(last)) assert.equal(e.ok, own, last);
  }
  assert.ok(checked > 150, `${checked} lines recomputed`);
  const yes = ex.filter((e) => e.ok).length;
  assert.ok(yes > ex.length * 0.3 && yes < ex.length * 0.7, `${yes}/${ex.length} yes`);
});

test("PRM verifier: scores in [0, 1], each line judged once, plan lines skipped", async () => {
  const m = await smallModel();
  try {
    const llm = new LLM(m.model, m.tokenizer, undefined, { parallel: 2 });
    const prm = new PrmVerifier(llm);
    const text =
      "<think>\nPlan: 27 + 15\n27 + 15\n7 + 5 + 0 = 12, write 2, carry 1, so far 2\nso 27 + 15 = 42\n</think>\n42";
    const v = await prm.verify({ question: "", text });
    assert.ok(v.score >= 0 && v.score <= 1);
    assert.equal(prm.judged, 2, "the digit line and the result line");
    await prm.verify({ question: "", text, partial: true });
    assert.equal(prm.judged, 2, "cached");
    const none = await prm.verify({ question: "", text: "<think>\nPlan: 3 + 4\n" });
    assert.equal(none.score, 0.5);
    await llm.close();
  } finally {
    m.cleanup();
  }
});
