// Thinking budget: the forcing hook on simulated decoding (multi-token tags, nudge, early close,
// budget 0), the reasoning/answer splitter (streamed == whole for every chunking), and the hook in
// the real engine on a small random-weight model: the thinking part never exceeds the budget and
// the answer still comes. Plus prefix sharing: k samples prefill the prompt once (engine counters).
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { LLM } from "../../src/engine/llm.js";
import { InputError } from "../../src/errors.js";
import {
  budgetFor,
  budgetForcer,
  promptOpensThinking,
  thinkingState,
  tokenizerPiece,
  type PieceFn,
} from "../../src/reasoning/budget.js";
import { ReasoningSplitter, splitReasoning } from "../../src/reasoning/split.js";
import { llmGenerator } from "../../src/reasoning/llm-generator.js";
import { collect } from "../../src/reasoning/generator.js";
import { selfConsistency } from "../../src/reasoning/self-consistency.js";
import { prompt as randomPrompt, smallModel } from "../engine/helpers.js";

// A toy vocabulary where the tags are several tokens, and one token merges a tag with newlines.
const PIECES: Record<number, string> = {
  1: "Q",
  2: "?",
  7: "<thi",
  8: "nk>",
  9: "</th",
  10: "ink>",
  11: "\n<think>\n",
  3: "Time",
  4: " up",
};
const piece: PieceFn = (id) => PIECES[id] ?? "a";
const CLOSE = [9, 10];

/** Decode with a fake model that emits `free` tokens (never a tag) or `script` when given, through the hook. */
function simulate(
  promptIds: number[],
  hook: ReturnType<typeof budgetForcer>,
  steps: number,
  script?: number[],
): number[] {
  const tokens = promptIds.slice();
  for (let i = 0; i < steps; i++) tokens.push(hook(tokens, promptIds.length) ?? script?.[i] ?? 100 + (i % 5));
  return tokens.slice(promptIds.length);
}

test("budget hook: thinking content is exactly the budget when the model never closes; answer follows", () => {
  for (const opener of ["prompt", "model", "merged"] as const) {
    for (let budget = 0; budget <= 9; budget++) {
      for (const nudge of [[], [3, 4]]) {
        const p = opener === "prompt" ? [1, 2, 7, 8] : [1, 2];
        const script = opener === "model" ? [7, 8] : opener === "merged" ? [11] : undefined; // the model opens the block itself
        const gen = simulate(p, budgetForcer({ budget, close: CLOSE, piece, nudge }), budget + 16, script);
        const opens = promptOpensThinking(p, piece);
        assert.equal(opens, opener === "prompt");
        const st = thinkingState(gen, piece, opens);
        assert.ok(st.start >= 0 && st.end >= 0, `closed (budget ${budget})`);
        const inside = st.end - CLOSE.length - st.start;
        assert.equal(inside, budget, `budget ${budget} nudge ${nudge} opener ${opener}`);
        if (nudge.length && nudge.length <= budget)
          assert.deepEqual(gen.slice(st.end - 4, st.end - 2), nudge);
        assert.ok(gen.length - st.end >= 10, "answer tokens after the block");
        assert.equal(gen.slice(st.end).filter((t) => t === 9).length, 0, "closed once");
      }
    }
  }
});

test("budget hook: the answer prefix follows a forced close only", () => {
  const prefix = [20, 21, 22];
  for (const budget of [0, 3, 6]) {
    const gen = simulate(
      [1, 7, 8],
      budgetForcer({ budget, close: CLOSE, piece, answerPrefix: prefix }),
      budget + 12,
    );
    const st = thinkingState(gen, piece, true);
    assert.equal(st.end, budget + CLOSE.length);
    assert.deepEqual(gen.slice(st.end, st.end + 3), prefix, `budget ${budget}`);
    assert.notEqual(gen[st.end + 3], 20, "prefix written once");
  }
  // A natural close before the budget gets no prefix.
  const natural = simulate(
    [1, 7, 8],
    budgetForcer({ budget: 8, close: CLOSE, piece, answerPrefix: prefix }),
    6,
    [50, 9, 10, 60, 61, 62],
  );
  assert.deepEqual(natural, [50, 9, 10, 60, 61, 62]);
});

test("budget hook: newline layout around a forced close ('\\n</think>\\n'), inside the budget", () => {
  const NL = [5];
  const pieceNl: PieceFn = (id) => (id === 5 ? "\n" : piece(id));
  for (const budget of [0, 1, 2, 3, 7]) {
    const gen = simulate(
      [1, 7, 8],
      budgetForcer({ budget, close: CLOSE, piece: pieceNl, nudge: [3, 4], newline: NL }),
      budget + 10,
    );
    const st = thinkingState(gen, pieceNl, true);
    assert.equal(st.end - CLOSE.length - st.start, budget, `budget ${budget}`);
    if (budget >= 1) assert.equal(gen[st.end - CLOSE.length - 1], 5, "newline before </think>");
    if (budget >= 3) assert.deepEqual(gen.slice(st.end - 5, st.end - 3), [3, 4], "nudge fits");
    assert.equal(gen[st.end], 5, "newline after </think>");
  }
});

test("budget hook: an early natural close is left alone; no block, no forcing; bad budget typed", () => {
  const hook = budgetForcer({ budget: 10, close: CLOSE, piece });
  const gen = simulate([1, 7, 8], hook, 12, [50, 51, 9, 10, 60, 61, 62, 63, 64, 65, 66, 67]);
  assert.deepEqual(gen, [50, 51, 9, 10, 60, 61, 62, 63, 64, 65, 66, 67]);
  const noThink = simulate([1], budgetForcer({ budget: 0, close: CLOSE, piece }), 5, [40, 41, 42, 43, 44]);
  assert.deepEqual(noThink, [40, 41, 42, 43, 44]);
  assert.throws(() => budgetForcer({ budget: -1, close: CLOSE, piece }), InputError);
  assert.throws(() => budgetForcer({ budget: 1.5, close: CLOSE, piece }), InputError);
  assert.throws(() => budgetForcer({ budget: 1, close: [], piece }), InputError);
});

test("reasoning splitter: streamed pieces equal the whole split for every chunking", () => {
  const texts = [
    "<think>\nadd 2 and 2\n</think>\nThe answer is 4.",
    "no tags at all",
    "<think>unfinished",
    "prefix <think>x</think> answer </think> tail",
    "<thi</thinkers>",
  ];
  for (const t of texts) {
    const whole = splitReasoning(t);
    for (let size = 1; size <= 6; size++) {
      const s = new ReasoningSplitter();
      let r = "";
      let c = "";
      for (let i = 0; i < t.length; i += size) {
        const d = s.push(t.slice(i, i + size));
        r += d.reasoning;
        c += d.content;
      }
      const f = s.flush();
      assert.deepEqual(
        { reasoning: r + f.reasoning, content: (c + f.content).replace(/^\s+/, "") },
        whole,
        `${t} / ${size}`,
      );
    }
  }
  assert.deepEqual(splitReasoning("<think>\nadd\n</think>\n\nThe answer is 4."), {
    reasoning: "\nadd\n",
    content: "The answer is 4.",
  });
  assert.deepEqual(splitReasoning("x\n</think>\nA: 1", true), { reasoning: "x\n", content: "A: 1" });
  assert.deepEqual(splitReasoning("<think>unfinished"), { reasoning: "unfinished", content: "" });
});

const m = await smallModel();
after(() => m.cleanup());

test("engine: the budget holds for every sample and the answer still comes", async () => {
  const llm = new LLM(m.model, m.tokenizer, undefined, { parallel: 4 });
  const closeLen = budgetFor(m.tokenizer, 0).close.length;
  const input = m.tokenizer.encode("question\n<think>\n", { addSpecial: true, parseSpecial: true });
  assert.ok(promptOpensThinking(input, tokenizerPiece(m.tokenizer)));
  for (const budget of [0, 3, 12]) {
    const gen = llmGenerator(llm, input, { sampling: { ignoreEos: true } });
    assert.equal(gen.prompt.opensThinking, true);
    const cands = await collect(gen, {
      n: 3,
      seed: 9,
      temperature: 1,
      maxTokens: budget + 30,
      thinkingBudget: budget,
    });
    for (const c of cands) {
      assert.ok(c.reasoningTokens! <= budget + closeLen, `reasoning ${c.reasoningTokens} > ${budget}`);
      const parts = splitReasoning(c.text, true);
      assert.ok(c.text.includes("</think>"), "block closed");
      assert.ok(c.completionTokens - c.reasoningTokens! >= 1, "answer tokens after the block");
      assert.equal(c.finishReason, "length");
      assert.equal(typeof parts.content, "string");
    }
  }
  await llm.close();
});

test("engine: k samples prefill the prompt once (prefix sharing), counters prove it", async () => {
  const P = 70; // 4 full blocks of 16 + 6 tail tokens
  const ids = randomPrompt(P, 77);
  for (const [share, expected] of [
    [true, P + 3 * (P - 64)],
    [false, 4 * P],
  ] as const) {
    const llm = new LLM(m.model, m.tokenizer, undefined, { parallel: 4, blockSize: 16 });
    const gen = llmGenerator(llm, ids, { sharePrefix: share, sampling: { ignoreEos: true } });
    const cands = await collect(gen, { n: 4, seed: 1, temperature: 1, maxTokens: 8 });
    assert.equal(cands.length, 4);
    const st = llm.stats();
    assert.equal(st.promptTokens, 4 * P);
    assert.equal(st.promptTokens - st.cachedPromptTokens, expected, `share=${share}`);
    await llm.close();
  }
});

test("engine: self-consistency with adaptive stop aborts the rest; engine frees their blocks", async () => {
  const llm = new LLM(m.model, m.tokenizer, undefined, { parallel: 2 });
  const gen = llmGenerator(llm, randomPrompt(20, 3), { sampling: { ignoreEos: true } });
  // Every sample "answers" with its last number or abstains; extractor always returns "x" so the vote is decided early.
  const r = await selfConsistency(gen, {
    samples: 8,
    maxTokens: 6,
    temperature: 1,
    seed: 4,
    extractor: () => "x",
  });
  assert.equal(r.stopReason, "decided");
  assert.ok(r.samplesSaved >= 3, `saved ${r.samplesSaved}`);
  await llm.close();
  assert.equal(llm.stats().kv.used, 0);
});
