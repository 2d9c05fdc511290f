/**
 * The v2 recipe's data: v1 examples unchanged (the eval's test split stays comparable), the
 * subtraction strip line, b × a swaps, one-step word problems that stay one step, tool calls in
 * the server's fallback format (same system text, the spaced call JSON its forced-call grammar
 * writes, the same text as its render of an OpenAI tool_calls history), multi-turn and system
 * prompts only in training, every chain of thought passing the process verifier; and the warm
 * start: a GGUF exported by the trainer imports back to the same weights and tokenizer.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULT_DATA_CONFIG, generateDataset } from "../../src/train/data/generate.js";
import { columns, subColumns, mulColumns } from "../../src/train/data/columns.js";
import { wordProblemV2 } from "../../src/train/data/word.js";
import { V2_MODEL_DATA } from "../../src/train/presets.js";
import { TOOL_SYSTEM } from "../../src/train/data/tools.js";
import { calculatorTool } from "../../src/tools/builtin/calculator.js";
import { buildToolPrompt, fallbackToolSystemPrompt } from "../../src/tools/prompt.js";
import { gbnfForTools } from "../../src/tools/tool-grammar.js";
import { parseToolCalls } from "../../src/tools/parse.js";
import { Automaton, parseGBNF } from "../../src/sampling/grammar/index.js";
import { openGGUF } from "../../src/gguf/reader.js";
import { Tokenizer } from "../../src/tokenizer/tokenizer.js";
import type { ChatMessage } from "../../src/tokenizer/chat-template.js";
import { DEFAULT_MODEL_PATH } from "../../src/cli/default-model.js";
import { checkSteps, firstError } from "../../src/train/rl/process-verifier.js";
import { renderChat } from "../../src/train/data/format.js";
import { tokenizeExamples } from "../../src/train/batches.js";
import { trainBpe } from "../../src/train/bpe/trainer.js";
import { buildVocab, SPECIAL_TEXTS } from "../../src/train/bpe/vocab.js";
import { exportGGUF } from "../../src/train/export.js";
import { importGGUF } from "../../src/train/import.js";
import { initParams, paramLayout } from "../../src/train/model/params.js";
import { Rng } from "../../src/sampling/rng.js";
import type { TrainModelConfig } from "../../src/train/model/config.js";

const v2 = generateDataset({ ...V2_MODEL_DATA, counts: { train: 3000, val: 50, test: 300 } });

test("v2 subtraction strips leading zeros explicitly: 8421 - 8420 = 1", () => {
  const w = subColumns(8421, 8420, "en", { stripLine: true });
  assert.equal(w.lines.at(-2), "drop leading zeros: 0001 → 1");
  assert.equal(w.lines.at(-1), "so 8421 - 8420 = 1");
  assert.ok(!subColumns(8421, 8420, "en").lines.some((l) => l.includes("drop")), "v1 format unchanged");
  assert.equal(mulColumns(4, 77, "en", { mulSwap: true }).lines[0], "4 × 77 = 77 × 4");
});

test("run × format: one operation per clause, the running total on every line of later partials", () => {
  const run = mulColumns(47, 36, "en", { mulSwap: true, mulRun: true });
  assert.equal(run.result, 1692);
  assert.deepEqual(run.lines, [
    "47 × 6",
    "7 × 6 = 42, 42 + 0 = 42, write 2, carry 4, so far 2",
    "4 × 6 = 24, 24 + 4 = 28, write 8, carry 2, so far 82",
    "carry 2, so far 282",
    "47 × 6 = 282",
    "47 × 3, total 282",
    "7 × 3 = 21, 21 + 0 = 21, write 1, carry 2, so far 1, total 282",
    "4 × 3 = 12, 12 + 2 = 14, write 4, carry 1, so far 41, total 282",
    "carry 1, so far 141, total 282",
    "47 × 3 = 141, total 282",
    "shift 1: 1410, total 282",
    "0282 + 1410",
    "2 + 0 + 0 = 2, write 2, carry 0, so far 2",
    "8 + 1 + 0 = 9, write 9, carry 0, so far 92",
    "2 + 4 + 0 = 6, write 6, carry 0, so far 692",
    "0 + 1 + 0 = 1, write 1, carry 0, so far 1692",
    "so 282 + 1410 = 1692",
    "so 47 × 36 = 1692",
  ]);
  // the swap keeps the run format for the inner product; without mulRun nothing changes
  assert.ok(
    mulColumns(6, 77, "en", { mulSwap: true, mulRun: true }).lines[2].startsWith("7 × 6 = 42, 42 + 0"),
  );
  assert.ok(!mulColumns(47, 36, "en", { mulSwap: true }).lines.some((l) => l.includes("total")));
  const d = generateDataset({
    ...V2_MODEL_DATA,
    counts: { train: 300, val: 5, test: 5 },
    v2: { ...V2_MODEL_DATA.v2!, mulRun: true },
  });
  const muls = d.train.filter((e) => e.kind === "mul");
  const runLine = /\d × \d = \d+(, |，)\d+ \+ \d = /;
  assert.ok(muls.length > 0);
  for (const e of muls) {
    const text = e.messages
      .filter((m) => m.role === "assistant")
      .map((m) => m.content)
      .join("\n");
    assert.ok(runLine.test(text) || /(^|\n)(0 × \d+|\d+ × 0) = 0\n/.test(text), text);
    assert.ok(!/\d × \d \+ \d = /.test(text), text);
  }
});

test("short run × clause: the carry is added to the product just written, nothing re-copied", () => {
  const short = mulColumns(47, 36, "en", { mulSwap: true, mulRun: true, mulShort: true });
  assert.equal(short.result, 1692);
  assert.deepEqual(short.lines.slice(0, 8), [
    "47 × 6",
    "7 × 6 = 42, + 0 = 42, write 2, carry 4, so far 2",
    "4 × 6 = 24, + 4 = 28, write 8, carry 2, so far 82",
    "carry 2, so far 282",
    "47 × 6 = 282",
    "47 × 3, total 282",
    "7 × 3 = 21, + 0 = 21, write 1, carry 2, so far 1, total 282",
    "4 × 3 = 12, + 2 = 14, write 4, carry 1, so far 41, total 282",
  ]);
  // everything after the digit lines is the run format's
  const run = mulColumns(47, 36, "en", { mulSwap: true, mulRun: true });
  assert.deepEqual(short.lines.slice(8), run.lines.slice(8));
  assert.equal(
    mulColumns(846, 8, "zh", { mulRun: true, mulShort: true }).lines[2],
    "4 × 8 = 32，+ 4 = 36，写 6，进 3，目前 68",
  );
});

test("units run × clause: one-digit steps in writing order, carry out = tens digit (+ 1 on overflow)", () => {
  const u = mulColumns(469, 57, "en", { mulSwap: true, mulRun: true, mulUnits: true });
  assert.equal(u.result, 26733);
  assert.deepEqual(u.lines.slice(0, 8), [
    "469 × 7",
    "9 × 7 = 63, 3 + 0 = 3, write 3, carry 6, so far 3",
    "6 × 7 = 42, 2 + 6 = 8, write 8, carry 4, so far 83",
    "4 × 7 = 28, 8 + 4 = 12, write 2, carry 2 + 1 = 3, so far 283",
    "carry 3, so far 3283",
    "469 × 7 = 3283",
    "469 × 5, total 3283",
    "9 × 5 = 45, 5 + 0 = 5, write 5, carry 4, so far 5, total 3283",
  ]);
  // every product 0..999 × 0..99 is right, and the digit lines' numbers agree with the arithmetic
  let seen = 0;
  for (let a = 0; a < 1000; a += 37)
    for (let b = 0; b < 100; b += 7) {
      const w = mulColumns(a, b, "zh", { mulSwap: true, mulRun: true, mulUnits: true });
      assert.equal(w.result, a * b);
      for (const l of w.lines) {
        const m = l.match(/^(\d) × (\d) = (\d+)，(\d) \+ (\d) = (\d+)，写 (\d)，进 (\d)(?: \+ 1 = (\d))?，/);
        if (!m) continue;
        seen++;
        const [x, y, p, u0, c, s, d, t] = m.slice(1, 9).map(Number);
        assert.ok(
          x * y === p && u0 === p % 10 && s === u0 + c && d === s % 10 && t === Math.floor(p / 10),
          l,
        );
        assert.equal(m[9] === undefined ? t : Number(m[9]), Math.floor((p + c) / 10), l);
      }
    }
  assert.ok(seen > 300, `${seen} digit lines`);
});

test("toolLong: the calculator's products have a 5..7-digit first factor", () => {
  const d = generateDataset({
    ...V2_MODEL_DATA,
    counts: { train: 600, val: 5, test: 5 },
    mix: { tool: 1 },
    v2: { ...V2_MODEL_DATA.v2!, toolLong: true },
  });
  const calls = d.train
    .flatMap((e) => e.messages.map((m) => m.content.match(/"expression": "(\d+) \* (\d+)"/)))
    .filter((m) => m !== null);
  assert.ok(calls.length > 20);
  for (const m of calls) assert.ok(m[1].length >= 5 && m[1].length <= 7, m[0]);
});

test("v2unitsD/E options: 3-digit first factors, long-number declines without tools, more calls, echoed calls", () => {
  const base = { ...V2_MODEL_DATA, counts: { train: 400, val: 5, test: 5 } };
  const v2o = { ...V2_MODEL_DATA.v2!, system: 0, multiTurn: 0 };
  const mul = generateDataset({ ...base, mix: { mul: 1 }, v2: { ...v2o, mulFirstMax: 1 } });
  for (const e of mul.train) {
    // the key sorts the factors; the 3-digit one is the larger
    const [, a, b] = e.key.split(":").map(Number);
    assert.ok(Math.max(a, b) >= 100 && Math.max(a, b) <= 999, e.key);
  }
  // mulSecondMax: both factors of exactly 3 digits with mulDigits [3, 3]; absent, the second is 1..3 digits
  const m33 = generateDataset({
    ...base,
    mulDigits: [3, 3],
    mix: { mul: 1 },
    v2: { ...v2o, mulFirstMax: 1, mulSecondMax: 1 },
  });
  for (const e of m33.train) {
    const [, a, b] = e.key.split(":").map(Number);
    assert.ok(Math.min(a, b) >= 100 && Math.max(a, b) <= 999, e.key);
  }
  const m3x = generateDataset({
    ...base,
    mulDigits: [3, 3],
    mix: { mul: 1 },
    v2: { ...v2o, mulFirstMax: 1 },
  });
  const short = m3x.train.filter((e) => Math.min(...e.key.split(":").slice(1).map(Number)) < 100).length;
  assert.ok(
    short > m3x.train.length / 3 && short < (m3x.train.length * 5) / 6,
    `${short}/${m3x.train.length}`,
  );
  const chat = generateDataset({ ...base, mix: { chat: 1 }, v2: { ...v2o, bigCopy: 1 } });
  for (const e of chat.train) {
    const m = e.messages[0].content.match(/(\d{5,9}) ([×+-]) (\d{2,9})/);
    assert.ok(m, e.messages[0].content);
    // the expression is restated verbatim in the thought and in the answer; nothing is computed
    const said = e.messages[1].content;
    assert.equal(said.split(m[0]).length - 1, 2, said);
    assert.equal(e.answer, undefined);
    assert.ok(!/ = \d/.test(said), said);
  }
  const calls = (share?: number) => {
    const d = generateDataset({ ...base, mix: { tool: 1 }, v2: { ...v2o, toolCalls: share } });
    return d.train.filter((e) =>
      e.messages.some((m) => m.role === "assistant" && m.content.includes("<tool_call>")),
    ).length;
  };
  const echo = generateDataset({ ...base, mix: { tool: 1 }, v2: { ...v2o, toolEcho: true } });
  let echoed = 0;
  for (const e of echo.train) {
    const a = e.messages.find((m) => m.role === "assistant" && m.content.startsWith("<think>\n"));
    const call = a?.content.match(/"expression": "(\d+) ([*+/-]) (\d+)"/);
    if (!a || !call) continue;
    // the thought's first line is the question's expression, the call's is the same numbers
    const first = a.content.split("\n")[1];
    assert.ok(
      e.messages.some((m) => m.role === "user" && m.content.includes(first.split(/[:：]/)[0])),
      first,
    );
    assert.ok(first.startsWith(`${call[1]} `) && first.includes(` ${call[3]}`), `${first} / ${call[0]}`);
    echoed++;
  }
  assert.ok(echoed > 50, `${echoed} echoed calls`);
  const [dflt, many] = [calls(undefined), calls(0.9)];
  assert.ok(dflt > 400 * 0.5 && dflt < 400 * 0.7, `default ${dflt}/400`);
  assert.ok(many > 400 * 0.82, `toolCalls 0.9: ${many}/400`);
});

test("v2unitsF options: calls right after the question, the question's expression copied verbatim", () => {
  const base = { ...V2_MODEL_DATA, counts: { train: 400, val: 5, test: 5 }, mix: { tool: 1 } };
  const v2o = { ...V2_MODEL_DATA.v2!, system: 0, multiTurn: 0, toolLong: true, toolCalls: 0.9 };
  const d = generateDataset({
    ...base,
    v2: { ...v2o, toolThought: 0, toolProducts: 0.8, toolVerbatim: true },
  });
  let products = 0;
  let calls = 0;
  for (const e of d.train) {
    const a = e.messages.find((m) => m.role === "assistant" && m.content.includes("<tool_call>"));
    if (!a) continue;
    calls++;
    // no thought: the assistant's turn is the call alone
    assert.ok(a.content.startsWith("<tool_call>\n"), a.content);
    const expr = JSON.parse(a.content.split("\n")[1]).arguments.expression as string;
    const q = e.messages.find((m) => m.role === "user")!.content;
    assert.ok(q.includes(expr), `${q} / ${expr}`);
    const m = expr.match(/^(\d+) ([×+/-]) (\d+)$/);
    assert.ok(m, expr);
    if (m[2] === "×") {
      products++;
      assert.ok(m[1].length >= 5 && m[1].length <= 7, expr);
      // the tool's result is the product of exactly these numbers
      const res = e.messages.find((x) => x.content.startsWith("<tool_response>"))!.content;
      assert.equal(res.split("\n")[1], String(BigInt(m[1]) * BigInt(m[3])));
    }
  }
  assert.ok(calls > 400 * 0.82, `${calls} calls`);
  assert.ok(products > calls * 0.7 && products < calls * 0.9, `${products} products of ${calls} calls`);
  // the defaults draw exactly as before (the presets before F are reproduced bit for bit)
  const [x, y] = [
    generateDataset({ ...base, v2: v2o }),
    generateDataset({ ...base, v2: { ...v2o, toolThought: 0.7, toolProducts: 0.6 } }),
  ];
  assert.deepEqual(x.train, y.train);
});

test("v2unitsH: a tool example's call and answer fit in one training row; partial-product additions", async () => {
  const { PRESETS } = await import("../../src/train/presets.js");
  const p = PRESETS.v2unitsH;
  const d = generateDataset({ ...p.data, counts: { train: 1500, val: 0, test: 0 } });
  // the training path's own tokenization (the warm start's tokenizer = the shipped model's)
  const vocab = buildVocab((await importGGUF(DEFAULT_MODEL_PATH.replace(/q8_0\.gguf$/, "f32.gguf"))).bpe);
  const calls = d.train.filter((e) => e.kind === "tool" && e.messages.length === 5).slice(0, 60);
  assert.ok(calls.length > 30, `${calls.length} calls`);
  const set = tokenizeExamples(calls, vocab.encoder, vocab.pad);
  // a row starting at an example's start trains targets ids[s+1..s+T]: every trained token of the
  // example (the call, its closing tag, the answer after the tool's result) must be among them
  const lastTrained = calls.map((_, i) => {
    const end = i + 1 < calls.length ? set.starts[i + 1] : set.ids.length;
    let last = -1;
    for (let j = set.starts[i]; j < end; j++) if (set.train[j]) last = j - set.starts[i];
    return last;
  });
  for (const [i, last] of lastTrained.entries()) assert.ok(last <= p.seqLen, `${calls[i].key}: ${last}`);
  // with the 512-token rows of the stages before H they did not (the bug H fixes)
  assert.ok(lastTrained.every((last) => last > 512));
  for (const e of calls) {
    const expr = JSON.parse(e.messages[2].content.split("\n")[1]).arguments.expression as string;
    const m = expr.match(/^(\d+) × (\d+)$/);
    if (m) assert.ok(m[1].length >= 6 && m[1].length <= 8, expr);
  }
  // addPartials 1: every "add" draw is the two partial products of a (10..999) × (10..99)
  const adds = generateDataset({
    ...p.data,
    mix: { add: 1 },
    v2: { ...p.data.v2!, addPartials: 1, multiTurn: 0, system: 0 },
    counts: { train: 300, val: 0, test: 0 },
  }).train;
  const partial = (x: number, y: number) => {
    for (let a = 10; a <= 999; a++)
      for (let t = 1; t <= 9; t++) if (a * t * 10 === y && x % a === 0 && x / a <= 9) return true;
    return false;
  };
  for (const e of adds) {
    const m = e.messages[0].content.match(/(\d+)\D+?(\d+)/)!;
    assert.ok(partial(Number(m[1]), Number(m[2])), e.messages[0].content);
    assert.equal(firstError(checkSteps(e.messages[1].content)), -1, e.key);
  }
  // the 5-digit columns of the × answer's addition line
  assert.ok(adds.filter((e) => /\n0\d{4} \+ \d{5}\n/.test(e.messages[1].content)).length > 100);
});

test("v1 data is drawn exactly as before the v2 options existed", () => {
  const d = generateDataset({ ...DEFAULT_DATA_CONFIG, counts: { train: 50, val: 5, test: 5 } });
  assert.ok(d.train.every((e) => e.messages.length === 2 && e.messages[0].role === "user"));
  assert.ok(!d.train.some((e) => /drop leading|Plan:/.test(e.messages[1].content)));
});

test("v2 mix: kinds present, held-out examples are single user turns, chains verify step by step", () => {
  const kinds = new Set(v2.train.map((e) => e.kind));
  for (const k of ["add", "sub", "mul", "word", "chat", "tool", "json"]) assert.ok(kinds.has(k as never), k);
  for (const e of v2.test)
    if (e.kind !== "tool" && e.kind !== "json") assert.equal(e.messages[0].role, "user", e.key);
  assert.ok(
    v2.train.some((e) => e.messages.filter((m) => m.role === "user").length > 1 && e.kind !== "tool"),
  );
  assert.ok(v2.train.some((e) => e.messages[0].role === "system" && e.kind !== "tool" && e.kind !== "json"));
  for (const e of v2.train.slice(0, 800))
    for (const m of e.messages)
      if (m.role === "assistant" && m.content.includes("<think>")) {
        const steps = checkSteps(m.content);
        assert.equal(firstError(steps), -1, `${e.key}: ${steps.find((s) => s.ok === false)?.line}`);
      }
});

test("v2 word problems: one-step stories plan one step, two-step stories two", () => {
  // the example's own answer is its first assistant turn (a multi-turn chat appends others)
  const answer = (e: (typeof v2.train)[number]) => e.messages.find((m) => m.role === "assistant")!.content;
  const words = v2.train.filter((e) => e.kind === "word");
  const one = words.filter((e) => !answer(e).includes("Step 2") && !answer(e).includes("第 2 步"));
  assert.ok(
    one.length > 0.2 * words.length && one.length < 0.6 * words.length,
    `${one.length}/${words.length}`,
  );
  for (const e of one) assert.ok(!/\(/.test(answer(e).split("\n")[1]), e.key);
  assert.ok(words.some((e) => e.lang === "zh") && words.some((e) => e.lang === "en"));
});

test("v2 tool examples use the server's fallback tool prompt and parseable Hermes calls", () => {
  assert.equal(TOOL_SYSTEM, fallbackToolSystemPrompt([calculatorTool.definition]));
  const calls = v2.train.filter((e) => e.kind === "tool" && e.messages.length === 5);
  assert.ok(calls.length > 10);
  for (const e of calls) {
    assert.ok(e.messages[0].content.endsWith(TOOL_SYSTEM));
    const m = e.messages[2].content.match(/<tool_call>\n(.*)\n<\/tool_call>$/);
    assert.ok(m, e.messages[2].content);
    const call = JSON.parse(m![1]) as { name: string; arguments: { expression: string } };
    assert.equal(call.name, "calculator");
    assert.ok(e.messages[3].content.startsWith("<tool_response>\n"));
    assert.ok(
      e.messages[4].content.endsWith(`${e.answer}.`) || e.messages[4].content.endsWith(`${e.answer}。`),
    );
  }
  const json = v2.train.filter((e) => e.kind === "json");
  for (const e of json) assert.equal(JSON.parse(e.messages[2].content).answer, Number(e.answer));
});

test("v2 tool calls are the server's text: its forced-call grammar accepts them, its history render writes them", async () => {
  const calc = calculatorTool.definition;
  const forced = new Automaton(parseGBNF(gbnfForTools([calc], "required", "hermes", false)!.gbnf));
  const file = await openGGUF(DEFAULT_MODEL_PATH);
  const tok = Tokenizer.fromMetadata(file.metadata);
  await file.close();
  const calls = v2.train.filter((e) => e.kind === "tool" && e.messages.length === 5).slice(0, 40);
  assert.ok(calls.length > 10);
  for (const e of calls) {
    const said = e.messages[2].content;
    const i = said.indexOf("<tool_call>");
    const call = said.slice(i);
    assert.ok(call.startsWith('<tool_call>\n{"name": "calculator", "arguments": {"expression": "'), call);
    assert.ok(forced.matches(new Uint8Array(Buffer.from(call))), `grammar rejects ${call}`);
    const parsed = parseToolCalls(said, "hermes").toolCalls;
    assert.equal(parsed.length, 1);
    // the same conversation sent to the server (OpenAI shape: tool_calls + a tool message) renders
    // to the training text up to the model's answer
    const system = e.messages[0].content.slice(0, -TOOL_SYSTEM.length).replace(/\n\n$/, "");
    const request: ChatMessage[] = [
      ...(system ? [{ role: "system" as const, content: system }] : []),
      { role: "user", content: e.messages[1].content },
      {
        role: "assistant",
        content: said.slice(0, i),
        tool_calls: [{ id: "c0", type: "function", function: parsed[0].function }],
      } as ChatMessage,
      {
        role: "tool",
        content: e.messages[3].content.replace(/^<tool_response>\n|\n<\/tool_response>$/g, ""),
      },
    ];
    const server = buildToolPrompt(tok, request, [calc], { toolChoice: "auto" }).prompt;
    assert.equal(server, renderChat(e.messages.slice(0, 4)) + "<|im_start|>assistant\n", e.key);
  }
});

test("import: an exported F32 GGUF reads back to the same config, weights and tokenizer", async () => {
  const docs = v2.train.slice(0, 100).map((e) => renderChat(e.messages));
  const bpe = trainBpe(docs, { vocabSize: 300, specials: SPECIAL_TEXTS });
  const vocab = buildVocab(bpe);
  const cfg: TrainModelConfig = {
    vocab: vocab.tokens.length,
    dim: 32,
    layers: 1,
    heads: 2,
    kvHeads: 1,
    ffn: 48,
    ctx: 64,
    ropeBase: 10000,
    normEps: 1e-5,
    tied: true,
  };
  const layout = paramLayout(cfg);
  const params = new Float32Array(layout.total);
  initParams(params, layout, cfg, new Rng(1));
  const dir = mkdtempSync(join(tmpdir(), "edgellm-import-"));
  try {
    const f = join(dir, "m.gguf");
    await exportGGUF(f, cfg, params, vocab);
    const back = await importGGUF(f);
    assert.deepEqual({ ...back.config, normEps: 0 }, { ...cfg, normEps: 0 });
    assert.deepEqual(back.params, params);
    assert.deepEqual(back.bpe.merges, bpe.merges);
    assert.deepEqual(back.bpe.tokenBytes, bpe.tokenBytes);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("v2mul continued SFT: ×-heavy fresh examples, never a v2 test problem, same format and shape as v2", async () => {
  const { PRESETS } = await import("../../src/train/presets.js");
  const p = PRESETS.v2mul;
  assert.deepEqual(p.model, PRESETS.v2.model, "a warm start needs v2's shape");
  const d = generateDataset({ ...p.data, counts: { train: 2000, val: 0, test: 0 } });
  const share = d.train.filter((e) => e.kind === "mul").length / d.train.length;
  assert.ok(share > 0.44 && share < 0.56, `× share ${share}`);
  // the held-out v2 problems (what train-eval.mjs --set v2 asks) are never among the training keys
  const testKeys = new Set(
    generateDataset({ ...V2_MODEL_DATA, counts: { train: 0, val: 0, test: 1000 } }).test.map((e) => e.key),
  );
  assert.ok(testKeys.size > 900);
  assert.equal(d.train.filter((e) => testKeys.has(e.key)).length, 0);
  // a different seed than v2's run: fresh examples, not a replay of the ones v2 trained on
  const v2Keys = new Set(v2.train.map((e) => e.key));
  const mulFresh = d.train.filter((e) => e.kind === "mul" && !v2Keys.has(e.key)).length;
  assert.ok(mulFresh > 0, "fresh × examples");
  for (const e of d.train.filter((x) => x.kind === "mul").slice(0, 200))
    assert.equal(firstError(checkSteps(e.messages.at(-1)!.content)), -1, e.key);
});

test("subCompare: a subtraction opens with a digit-by-digit comparison the process verifier checks", () => {
  // the format the issue-18 stage v2unitsK trains (written out by hand here)
  assert.deepEqual(subColumns(6441, 6440, "en", { stripLine: true, subCompare: true }).lines.slice(0, 2), [
    "compare 6441 and 6440: 6 = 6, 4 = 4, 4 = 4, 1 > 0, so 6441 > 6440",
    "6441 - 6440",
  ]);
  assert.deepEqual(subColumns(74, 77, "en", { subCompare: true }).lines.slice(0, 2), [
    "compare 74 and 77: 7 = 7, 4 < 7, so 74 < 77",
    "74 < 77, so 74 - 77 = -(77 - 74)",
  ]);
  assert.equal(
    subColumns(357, 4110, "zh", { subCompare: true }).lines[0],
    "比较 357 和 4110： 3 位 < 4 位，所以 357 < 4110",
  );
  // without the option the format is what every earlier stage trained (no comparison line)
  assert.equal(subColumns(6441, 6440, "en", { stripLine: true }).lines[0], "6441 - 6440");
  // every line of many random workings verifies, in both languages
  const rng = new Rng(7);
  for (let i = 0; i < 300; i++) {
    const a = rng.int(0, 9999);
    const b = rng.uniform() < 0.5 ? rng.int(0, 9999) : Math.max(0, a + rng.int(-9, 9));
    const lang = i % 2 ? "en" : "zh";
    const text = subColumns(a, b, lang, { stripLine: true, subCompare: true }).lines.join("\n");
    assert.equal(firstError(checkSteps(text)), -1, text);
  }
  // a wrong digit relation, a wrong conclusion, a skipped pair or a step past the difference fail
  for (const bad of [
    "compare 6441 and 6440: 6 = 6, 4 = 4, 4 < 4, so 6441 < 6440",
    "compare 74 and 77: 7 = 7, 4 < 7, so 74 > 77",
    "compare 6441 and 6440: 6 = 6, 4 = 4, 1 > 0, so 6441 > 6440",
    "compare 357 and 411: 3 < 4, 5 > 1, so 357 < 411",
    "compare 357 and 4110: 3 digits > 4 digits, so 357 < 4110",
  ])
    assert.equal(checkSteps(bad)[0].ok, false, bad);
  // the v2unitsK data carries it on every subtraction (and only there)
  const k = generateDataset({
    ...V2_MODEL_DATA,
    counts: { train: 400, val: 0, test: 0 },
    v2: { ...V2_MODEL_DATA.v2!, subCompare: true },
  });
  const subs = k.train.filter((e) => e.kind === "sub");
  assert.ok(subs.length > 20);
  for (const e of subs)
    assert.match(
      e.messages.find((m) => m.role === "assistant")!.content,
      /^<think>\n(?:compare|比较) \d+ (?:and|和) \d+/,
    );
});

test("subBorrowOut: a - b is worked in columns first; a borrow out of the top column flips the sign", () => {
  const w = subColumns(61, 62, "en", { stripLine: true, subBorrowOut: true });
  assert.deepEqual(w.lines.slice(0, 4), [
    "61 - 62",
    "1 - 2 - 0 = -1, +10 = 9, borrow 1, so far 9",
    "6 - 6 - 1 = -1, +10 = 9, borrow 1, so far 99",
    "borrow out 1, 61 < 62, so 61 - 62 = -(62 - 61)",
  ]);
  assert.equal(w.lines.at(-1), "so 61 - 62 = -1");
  assert.equal(w.result, -1);
  const rng = new Rng(9);
  for (let i = 0; i < 300; i++) {
    const a = rng.int(0, 10 ** rng.int(1, 6) - 1);
    const b = rng.int(0, 10 ** rng.int(1, 6) - 1);
    for (const lang of ["en", "zh"] as const) {
      const x = subColumns(a, b, lang, { stripLine: true, subBorrowOut: true });
      assert.equal(x.result, a - b);
      assert.ok(x.lines.at(-1)!.endsWith(`= ${a - b}`), x.lines.at(-1));
      // the flip line comes right after the last column of a - b, whose borrow is 1, iff a < b
      const flip = x.lines.findIndex((l) => l.startsWith(lang === "en" ? "borrow out 1" : "最高位借 1"));
      assert.equal(flip >= 0, a < b, `${a} - ${b}`);
      if (flip >= 0) assert.match(x.lines[flip - 1], lang === "en" ? /borrow 1, so far/ : /借 1，目前/);
      // a >= b: the same lines as without the option
      if (a >= b) assert.deepEqual(x.lines, subColumns(a, b, lang, { stripLine: true }).lines);
    }
  }
});

test("subComplement: after the borrow out the negative result is the complement of the last so-far", () => {
  const w = subColumns(61, 62, "en", { stripLine: true, subBorrowOut: true, subComplement: true });
  assert.equal(w.lines[3], "borrow out 1, negative: -(100 - 99)");
  assert.equal(w.lines[4], "100 - 099");
  assert.equal(w.lines.at(-1), "so 61 - 62 = -1");
  const rng = new Rng(11);
  for (let i = 0; i < 300; i++) {
    const a = rng.int(0, 10 ** rng.int(1, 6) - 1);
    const b = rng.int(0, 10 ** rng.int(1, 6) - 1);
    for (const lang of ["en", "zh"] as const) {
      const x = subColumns(a, b, lang, { stripLine: true, subBorrowOut: true, subComplement: true });
      assert.equal(x.result, a - b);
      assert.ok(x.lines.at(-1)!.endsWith(`= ${a - b}`), x.lines.at(-1));
      const flip = x.lines.findIndex((l) => l.startsWith(lang === "en" ? "borrow out 1" : "最高位借 1"));
      assert.equal(flip >= 0, a < b, `${a} - ${b}`);
      if (flip >= 0) {
        // the complement's operands: 10^width and the so-far of the line just above
        const soFar = x.lines[flip - 1].match(/(\d+)$/)![1];
        assert.ok(x.lines[flip].endsWith(`-(${10 ** soFar.length} - ${soFar})`), x.lines[flip]);
      }
    }
  }
});

test("mulLeft: each partial's multiplier is the last digit of the brackets on the line just above", () => {
  const base = { stripLine: true, mulSwap: true, mulRun: true, mulUnits: true };
  const w = mulColumns(521, 666, "en", { ...base, mulLeft: true });
  assert.equal(w.lines[0], "521 × 6 (66)");
  const rng = new Rng(13);
  for (let i = 0; i < 400; i++) {
    const a = rng.int(0, 10 ** rng.int(1, 4) - 1);
    const b = rng.int(0, 10 ** rng.int(1, 4) - 1);
    for (const lang of ["en", "zh"] as const) {
      const x = mulColumns(a, b, lang, { ...base, mulLeft: true });
      const plain = mulColumns(a, b, lang, base);
      assert.equal(x.result, a * b);
      // the clause is the only change: without it every line is the plain format's
      const sep = " \\(";
      assert.deepEqual(
        x.lines.map((l) => l.replace(new RegExp(`${sep}\\d+\\)$`), "")),
        plain.lines,
        `${a} × ${b}`,
      );
      // the working's first factor and second factor (after the swap, if any)
      const [f1, f2] = String(b).length > String(a).length ? [b, a] : [a, b];
      const digits = String(f2);
      const headers = x.lines
        .map((l, k) => ({ l, k }))
        .filter(
          ({ l }) =>
            new RegExp(
              `^${f1} × \\d(?:${lang === "en" ? ", total" : "，累计"} \\d+)?(?:${sep}\\d+\\))?$`,
            ).test(l) || new RegExp(`^${f1} × \\d = 0`).test(l),
        );
      assert.equal(headers.length, digits.length, `${a} × ${b}: ${x.lines.join(" | ")}`);
      headers.forEach(({ l, k }, n) => {
        const d = l.match(/^\d+ × (\d)/)![1];
        assert.equal(d, digits[digits.length - 1 - n]);
        const rest = digits.slice(0, digits.length - 1 - n);
        assert.equal(l.includes(" ("), rest !== "", l);
        if (n > 0) {
          // copied from the line just above: its brackets end with this digit
          const above = x.lines[k - 1].match(new RegExp(`${sep}(\\d+)\\)$`));
          assert.ok(above, `${x.lines[k - 1]} (above ${l})`);
          assert.equal(above![1], digits.slice(0, digits.length - n));
        }
      });
      // the process verifier accepts every line, and catches a partial taken with another digit
      assert.equal(firstError(checkSteps(x.lines.join("\n"))), -1, x.lines.join("\n"));
      if (headers.length >= 2) {
        const { l, k } = headers[headers.length - 1];
        const d = Number(l.match(/^\d+ × (\d)/)![1]);
        const bad = [...x.lines];
        bad[k] = l.replace(/^(\d+ × )\d/, `$1${(d + 1) % 10}`);
        assert.equal(firstError(checkSteps(bad.join("\n"))), k, bad[k]);
      }
    }
  }
});

test("addSubLong: one operand of the longest two lengths, on either side", () => {
  const base = { ...V2_MODEL_DATA, counts: { train: 1200, val: 5, test: 5 }, addSubDigits: 6 };
  const v2o = { ...V2_MODEL_DATA.v2!, system: 0, multiTurn: 0, subClose: 0, addPartials: 0 };
  const longest = (key: string) =>
    Math.max(
      ...key
        .split(":")
        .slice(1)
        .map((s) => s.length),
    );
  const all = generateDataset({ ...base, mix: { add: 1, sub: 1 }, v2: { ...v2o, addSubLong: 1 } });
  let firstLong = 0;
  for (const e of all.train) {
    assert.ok(longest(e.key) >= 5, e.key);
    if (e.key.startsWith("sub:") && e.key.split(":")[1].length >= 5) firstLong++;
  }
  // the long operand is the first of a subtraction about half the time (or more: both can be long)
  const subs = all.train.filter((e) => e.key.startsWith("sub:")).length;
  assert.ok(firstLong > subs * 0.45 && firstLong < subs * 0.8, `${firstLong}/${subs}`);
  // without the option: independent lengths 1..6, so 1 - (4/6)^2 = 56% have a 5-6-digit operand
  const none = generateDataset({ ...base, mix: { add: 1, sub: 1 }, v2: v2o });
  const share = none.train.filter((e) => longest(e.key) >= 5).length / none.train.length;
  assert.ok(share > 0.49 && share < 0.62, String(share));
});

/** v2unitsP's chain-of-thought format (the base the digitGroups and colLeft options are added to) */
const P_FORMAT = {
  stripLine: true,
  mulSwap: true,
  mulRun: true,
  mulUnits: true,
  subBorrowOut: true,
  subComplement: true,
};

test("digitGroups: + and − headers grouped by three from the right, nothing else changes", () => {
  const fmt = P_FORMAT;
  assert.equal(columns("+", 575707, 2, "en", { ...fmt, digitGroups: true }).lines[0], "575,707 + 000,002");
  assert.equal(columns("-", 4321, 99, "en", { ...fmt, digitGroups: true }).lines[0], "4,321 - 0,099");
  const rng = new Rng(17);
  for (let i = 0; i < 400; i++) {
    const a = rng.int(0, 10 ** rng.int(1, 6) - 1);
    const b = rng.int(0, 10 ** rng.int(1, 6) - 1);
    for (const lang of ["en", "zh"] as const)
      for (const op of ["+", "-", "×"] as const) {
        if (op === "×" && (a > 999 || b > 999)) continue;
        const g = columns(op, a, b, lang, { ...fmt, digitGroups: true });
        const plain = columns(op, a, b, lang, fmt);
        assert.equal(g.result, plain.result);
        assert.equal(g.lines.length, plain.lines.length);
        g.lines.forEach((l, k) => {
          if (l === plain.lines[k]) return;
          // only a column header differs: the same operands with a comma before every third digit
          const m = l.match(/^([\d,]+) ([+-]) ([\d,]+)$/);
          assert.ok(m && op !== "×", `${op}: ${l} vs ${plain.lines[k]}`);
          assert.equal(l.replaceAll(",", ""), plain.lines[k]);
          for (const x of [m[1], m[3]]) assert.match(x, /^\d{1,3}(,\d{3})+$/, l);
        });
        // the process verifier reads the grouped headers
        assert.equal(firstError(checkSteps(g.lines.join("\n"))), -1, g.lines.join("\n"));
      }
  }
});

test("colLeft: each + / − column takes its digits from the end of the brackets on the line above", () => {
  const fmt = P_FORMAT;
  // hand-written: 575707 + 2 and 53691 - 1 worked with the operands' unused digits
  const add = columns("+", 575707, 2, "en", { ...fmt, colLeft: true }).lines;
  assert.equal(add[0], "575707 + 000002");
  assert.equal(add[1], "7 + 2 + 0 = 9, write 9, carry 0, so far 9 (57570 + 00000)");
  assert.equal(add[4], "5 + 0 + 0 = 5, write 5, carry 0, so far 5709 (57 + 00)");
  assert.equal(add[6], "5 + 0 + 0 = 5, write 5, carry 0, so far 575709");
  const sub = columns("-", 53691, 1, "zh", { ...fmt, colLeft: true }).lines;
  assert.equal(sub[1], "1 - 1 - 0 = 0，借 0，目前 0 (5369 - 0000)");
  const rng = new Rng(19);
  for (let i = 0; i < 400; i++) {
    const a = rng.int(0, 10 ** rng.int(1, 6) - 1);
    const b = rng.int(0, 10 ** rng.int(1, 6) - 1);
    for (const lang of ["en", "zh"] as const)
      for (const op of ["+", "-", "×"] as const) {
        if (op === "×" && (a > 999 || b > 999)) continue;
        const g = columns(op, a, b, lang, { ...fmt, colLeft: true });
        const plain = columns(op, a, b, lang, fmt);
        assert.equal(g.result, plain.result);
        // the brackets are the only change, and × workings have none
        const bracket = / \((\d+) ([+-]) (\d+)\)$/;
        assert.deepEqual(
          g.lines.map((l) => l.replace(bracket, "")),
          plain.lines,
          `${a} ${op} ${b}`,
        );
        if (op === "×") assert.ok(!g.lines.some((l) => bracket.test(l)), g.lines.join(" | "));
        // every column line after the first reads its two digits off the end of the brackets above
        g.lines.forEach((l, k) => {
          const col = l.match(/^(\d) [+-] (\d) [+-] \d = /);
          const above = k > 0 ? g.lines[k - 1].match(bracket) : null;
          if (!col || !above) return;
          assert.equal(col[1], above[1].slice(-1), `${l} after ${g.lines[k - 1]}`);
          assert.equal(col[2], above[3].slice(-1), `${l} after ${g.lines[k - 1]}`);
        });
        const checks = checkSteps(g.lines.join("\n"));
        assert.equal(firstError(checks), -1, g.lines.join("\n"));
        // a bracket digit changed is caught on its line
        const k = g.lines.findIndex((l) => bracket.test(l));
        if (k >= 0) {
          const bad = [...g.lines];
          bad[k] = bad[k].replace(/(\d)\)$/, (_, d) => `${(Number(d) + 1) % 10})`);
          assert.equal(firstError(checkSteps(bad.join("\n"))), k, bad[k]);
        }
      }
  }
});

test("wordPending: step 1 of a two-step story carries step 2's operation; the verifier holds it to that", () => {
  const fmt = { ...P_FORMAT, colLeft: true };
  // hand-written: (34 + 77) + 291, the marker at the start of each line of step 1
  const hand = wordProblemV2(new Rng(5), "en", 3, 1, { ...fmt, wordPending: "start" });
  for (const where of ["end", "start"] as const) {
    const pendingRe = where === "end" ? / \[([+\-×]) (\d+)\]$/ : /^\[([+\-×]) (\d+)\] /;
    let two = 0;
    for (let i = 0; i < 200; i++) {
      const lang = i % 2 ? "zh" : "en";
      const rng = () => new Rng(1000 + i);
      const withP = wordProblemV2(rng(), lang, 3, 0.7, { ...fmt, wordPending: where });
      const plain = wordProblemV2(rng(), lang, 3, 0.7, fmt);
      assert.equal(withP.answer, plain.answer);
      assert.equal(withP.user, plain.user);
      const a = withP.assistant.split("\n");
      const b = plain.assistant.split("\n");
      assert.equal(a.length, b.length);
      const s2 = b.findIndex((l) => /^(Step 2: |第 2 步：)/.test(l));
      const plan = b[1].match(/\) ([+\-×]) (\d+)$/);
      if (s2 < 0) {
        assert.equal(withP.assistant, plain.assistant, "a one-step story is unchanged");
        continue;
      }
      two++;
      // the plan's second operation, e.g. "Plan: (34 × 15) - 8" -> "- 8"
      assert.ok(plan, b[1]);
      const s1 = b.findIndex((l) => /^(Step 1: |第 1 步：)/.test(l));
      a.forEach((l, k) => {
        if (k > s1 && k < s2) {
          const m = l.match(pendingRe);
          assert.ok(m, l);
          assert.equal(`${m[1]} ${m[2]}`, `${plan[1]} ${plan[2]}`);
          assert.equal(l.replace(pendingRe, ""), b[k]);
        } else assert.equal(l, b[k]);
      });
      // step 2's header repeats the line just above's brackets
      assert.ok(a[s2].endsWith(`${plan[1]} ${plan[2]}`), a[s2]);
      assert.equal(firstError(checkSteps(withP.assistant)), -1, withP.assistant);
      // a step 2 that does another operation, or one step-1 line that carries another, is wrong
      const bad2 = [...a];
      bad2[s2] = bad2[s2].replace(/\d+$/, (x) => String(Number(x) + 1));
      assert.equal(firstError(checkSteps(bad2.join("\n"))), s2 - 1, bad2[s2]);
      const bad1 = [...a];
      bad1[s1 + 2] = bad1[s1 + 2].replace(/\[([+\-×]) (\d+)\]/, (_, op, n) => `[${op} ${Number(n) + 1}]`);
      assert.equal(checkSteps(bad1.join("\n"))[s1 + 1].ok, false, bad1[s1 + 2]);
    }
    assert.ok(two > 100, `${where}: ${two} two-step stories`);
  }
  const h = hand.assistant.split("\n");
  assert.equal(h[1], "Plan: (34 + 77) + 291");
  assert.equal(h[3], "[+ 291] 34 + 77");
  assert.equal(h[4], "[+ 291] 4 + 7 + 0 = 11, write 1, carry 1, so far 1 (3 + 7)");
  assert.equal(h[7], "[+ 291] so 34 + 77 = 111");
  assert.equal(h[8], "Step 2: 111 + 291");
  assert.equal(h[9], "111 + 291");
});
