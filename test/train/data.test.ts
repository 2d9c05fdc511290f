import { test } from "node:test";
import assert from "node:assert/strict";
import {
  DEFAULT_DATA_CONFIG,
  generateDataset,
  splitOf,
  toJSONL,
  type DataConfig,
} from "../../src/train/data/generate.js";
import { addColumns, mulColumns, subColumns } from "../../src/train/data/columns.js";
import { chatSegments, renderChat } from "../../src/train/data/format.js";
import { Rng } from "../../src/sampling/rng.js";
import { InputError } from "../../src/errors.js";

const SMALL: DataConfig = { ...DEFAULT_DATA_CONFIG, counts: { train: 3000, val: 150, test: 300 } };

test("dataset is a pure function of the seed", () => {
  const a = generateDataset(SMALL);
  const b = generateDataset(SMALL);
  assert.equal(toJSONL(a.train), toJSONL(b.train));
  assert.equal(toJSONL(a.test), toJSONL(b.test));
  const c = generateDataset({ ...SMALL, seed: 2 });
  assert.notEqual(toJSONL(a.train), toJSONL(c.train));
});

test("splits are disjoint by problem key and sized as asked", () => {
  const d = generateDataset(SMALL);
  assert.equal(d.train.length, 3000);
  assert.equal(d.val.length, 150);
  assert.equal(d.test.length, 300);
  const keys = {
    train: new Set(d.train.map((e) => e.key)),
    val: new Set(d.val.map((e) => e.key)),
    test: new Set(d.test.map((e) => e.key)),
  };
  for (const k of keys.test) {
    assert.ok(!keys.train.has(k), `test key ${k} also in train`);
    assert.ok(!keys.val.has(k), `test key ${k} also in val`);
  }
  for (const k of keys.val) assert.ok(!keys.train.has(k), `val key ${k} also in train`);
  for (const e of [...d.train, ...d.val, ...d.test]) assert.equal(splitOf(e.key, SMALL), e.split);
  // commutative problems share a key, so 12+34 and 34+12 cannot straddle splits
  const k1 = d.test.find((e) => e.kind === "add")!.key;
  const [, x, y] = k1.split(":");
  assert.equal(splitOf(`add:${x}:${y}`, SMALL), "test");
});

test("both languages, every kind, think block then answer line", () => {
  const d = generateDataset(SMALL);
  const kinds = new Set(d.train.map((e) => e.kind));
  assert.deepEqual([...kinds].sort(), ["add", "chat", "mul", "sub", "word"]);
  assert.ok(d.train.some((e) => e.lang === "zh") && d.train.some((e) => e.lang === "en"));
  for (const e of d.train) {
    const a = e.messages[1].content;
    const m = /^<think>\n([\s\S]+)\n<\/think>\n(.+)$/.exec(a);
    assert.ok(m, `bad assistant format: ${JSON.stringify(a)}`);
    if (e.answer !== undefined) {
      const last = e.lang === "en" ? `The answer is ${e.answer}.` : `答案是 ${e.answer}。`;
      assert.equal(m[2], last);
    }
  }
});

test("column solutions are right, with one digit position per line", () => {
  const rng = new Rng(7);
  for (let i = 0; i < 400; i++) {
    const a = rng.int(0, 99999);
    const b = rng.int(0, 99999);
    const s = addColumns(a, b, "en");
    assert.equal(s.result, a + b);
    assert.equal(s.lines.at(-1), `so ${a} + ${b} = ${a + b}`);
    // the last "so far" equals the result: the steps themselves add up
    const sofar = s.lines
      .filter((l) => l.includes("so far"))
      .at(-1)!
      .split("so far ")[1];
    assert.equal(Number(sofar), a + b);
    const d = subColumns(a, b, "zh");
    assert.equal(d.result, a - b);
    const lastSoFar = d.lines
      .filter((l) => l.includes("目前"))
      .at(-1)!
      .split("目前 ")[1];
    assert.equal(Number(lastSoFar), Math.abs(a - b));
    const m = mulColumns(a % 1000, b % 100, "en");
    assert.equal(m.result, (a % 1000) * (b % 100));
  }
  assert.deepEqual(addColumns(4821, 377, "en").lines, [
    "4821 + 0377",
    "1 + 7 + 0 = 8, write 8, carry 0, so far 8",
    "2 + 7 + 0 = 9, write 9, carry 0, so far 98",
    "8 + 3 + 0 = 11, write 1, carry 1, so far 198",
    "4 + 0 + 1 = 5, write 5, carry 0, so far 5198",
    "so 4821 + 377 = 5198",
  ]);
  assert.throws(() => addColumns(-1, 2, "en"), InputError);
  assert.throws(() => addColumns(1.5, 2, "en"), InputError);
});

test("ChatML segments mask only the assistant turn", () => {
  const msgs = [
    { role: "user" as const, content: "Hi" },
    { role: "assistant" as const, content: "Hello" },
  ];
  const segs = chatSegments(msgs);
  assert.equal(renderChat(msgs), "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello<|im_end|>\n");
  assert.deepEqual(
    segs.filter((s) => s.train).map((s) => s.text),
    ["Hello<|im_end|>"],
  );
});

test("bad configs get typed errors", () => {
  assert.throws(() => generateDataset({ ...SMALL, counts: { train: -1, val: 0, test: 0 } }), InputError);
  assert.throws(() => generateDataset({ ...SMALL, testPermille: 600, valPermille: 500 }), InputError);
  // 1-digit addition only: far too few distinct problems for 5000 held-out examples
  assert.throws(
    () =>
      generateDataset({
        ...SMALL,
        addSubDigits: 1,
        mix: { add: 1, sub: 0, mul: 0, word: 0, chat: 0 },
        counts: { train: 10, val: 0, test: 5000 },
      }),
    InputError,
  );
});
