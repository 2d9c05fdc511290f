/**
 * The units adapter's data (src/train/data/units.ts): held-out values never occur in training in any
 * unit; both splits hold odd and even values of every size; answers follow the metric factors
 * (written here independently of the module's table).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { unitExamples } from "../../src/train/data/units.js";

const FACTOR: Record<string, number> = { "km>m": 1000, "m>cm": 100, "cm>mm": 10, "kg>g": 1000, "l>ml": 1000 };

function parse(q: string): { v: number; from: string; to: string } {
  const m =
    /^Convert (\d+) (\w+) to (\w+)\.$/.exec(q) ??
    /^(\d+) (\w+) in (\w+)\?$/.exec(q) ??
    (/^How many (\w+) are in (\d+) (\w+)\?$/.exec(q) as RegExpExecArray | null);
  assert.ok(m, `unparsed question ${q}`);
  if (q.startsWith("How many")) return { v: Number(m[2]), from: m[3], to: m[1] };
  return { v: Number(m[1]), from: m[2], to: m[3] };
}

test("units data: test values never in training; both splits mix parities and sizes; answers right", () => {
  const train = unitExamples(2000, "train");
  const testSet = unitExamples(400, "test");
  const values = (xs: typeof train) => xs.map((e) => parse(e.messages[0].content).v);
  const tv = new Set(values(train));
  for (const v of values(testSet)) assert.ok(!tv.has(v), `value ${v} in both splits`);
  for (const [name, xs] of [
    ["train", train],
    ["test", testSet],
  ] as const) {
    const vs = values(xs);
    const odd = vs.filter((v) => v % 2 === 1).length / vs.length;
    assert.ok(odd > 0.35 && odd < 0.65, `${name}: odd share ${odd}`);
    for (const [lo, hi] of [
      [1, 9],
      [10, 99],
      [100, 999],
    ])
      assert.ok(
        vs.some((v) => v >= lo && v <= hi),
        `${name}: no value in ${lo}..${hi}`,
      );
    for (const e of xs) {
      const { v, from, to } = parse(e.messages[0].content);
      const f = FACTOR[`${from}>${to}`];
      assert.ok(f, `unknown conversion ${from} -> ${to}`);
      assert.equal(e.answer, v * f);
      assert.match(e.messages[1].content, new RegExp(`The answer is ${v * f} ${to}\\.$`));
    }
  }
  // a question never repeats within a split
  assert.equal(new Set(train.map((e) => e.messages[0].content)).size, train.length);
});
