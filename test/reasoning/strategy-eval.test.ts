// The strategy dispatcher (names, greedy/sc/bon over scripted candidates, reasoning split), the
// arithmetic eval task (held-out corpus questions; answers agree with our own re-check), and the
// SVG chart (well-formed, one marker per point, no NaN coordinates).
import { test } from "node:test";
import assert from "node:assert/strict";
import { InputError } from "../../src/errors.js";
import { parseStrategy, runStrategy } from "../../src/reasoning/strategy.js";
import { arithmeticTask, loadTask } from "../../src/reasoning/eval-task.js";
import { accuracySVG } from "../../src/reasoning/plot.js";
import { ArithmeticVerifier } from "../../src/verify/arithmetic.js";
import { questionValue } from "../../src/verify/question.js";
import { scripted } from "./scripted.js";

test("strategy names: aliases accepted, unknown is an InputError", () => {
  assert.equal(parseStrategy("sc"), "self_consistency");
  assert.equal(parseStrategy("bon"), "best_of_n");
  assert.equal(parseStrategy("greedy"), "greedy");
  assert.equal(parseStrategy("mcts"), "mcts");
  assert.throws(() => parseStrategy("beam"), InputError);
  assert.throws(() => parseStrategy(3), InputError);
});

test("runStrategy: greedy uses temperature 0 and n=1; sc votes; bon needs a verifier", async () => {
  const t = (x: string) => `<think>\n1 + 1 = 2\n</think>\nThe answer is ${x}.`;
  const g = scripted([t("2")]);
  const r = await runStrategy(g, { strategy: "greedy", maxTokens: 50 });
  assert.equal(g.calls[0].n, 1);
  assert.equal(g.calls[0].temperature, 0);
  assert.equal(r.answer, "2");
  assert.equal(r.content, "The answer is 2.");
  assert.equal(r.reasoning, "\n1 + 1 = 2\n");
  const sc = await runStrategy(scripted([t("2"), t("3"), t("2")]), {
    strategy: "self_consistency",
    samples: 3,
    earlyStop: false,
  });
  assert.equal(sc.answer, "2");
  assert.equal(sc.agreement, 2 / 3);
  assert.equal(sc.text, t("2"));
  await assert.rejects(runStrategy(scripted([t("2")]), { strategy: "best_of_n" }), InputError);
  const bon = await runStrategy(scripted([t("3"), t("2")]), {
    strategy: "best_of_n",
    samples: 2,
    verifier: new ArithmeticVerifier(),
    question: "What is 1 + 1?",
  });
  assert.equal(bon.answer, "2");
});

test("arithmetic task: held-out questions whose answers our re-check agrees with", () => {
  const items = arithmeticTask(40);
  assert.equal(items.length, 40);
  assert.deepEqual(arithmeticTask(40), items, "deterministic");
  for (const it of items) {
    const v = questionValue(it.question);
    if (it.kind !== "word") assert.equal(v, Number(it.answer), it.question);
  }
  assert.throws(() => loadTask("poetry", 3), InputError);
  assert.throws(() => arithmeticTask(0), InputError);
});

test("SVG chart: markers per point, sorted polyline, escapes labels, no NaN", () => {
  const svg = accuracySVG([
    {
      name: "self-consistency",
      points: [
        { x: 400, y: 0.5, label: "sc@4" },
        { x: 100, y: 0.4, label: "greedy" },
        { x: 1600, y: 0.6, label: "sc@16" },
      ],
    },
    {
      name: "budget <x>",
      points: [
        { x: 50, y: 0.1, label: "b=8" },
        { x: 0, y: 0.2, label: "dropped (x=0)" },
      ],
    },
  ]);
  assert.match(svg, /^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  assert.equal((svg.match(/<circle /g) ?? []).length, 4);
  assert.ok(!/NaN|Infinity/.test(svg));
  assert.match(svg, /budget &lt;x&gt;/);
  assert.match(svg, /log scale/);
  const line = /<polyline [^>]*points="([^"]+)"/
    .exec(svg)![1]
    .split(" ")
    .map((p) => Number(p.split(",")[0]));
  assert.deepEqual(
    [...line].sort((a, b) => a - b),
    line,
    "x ascending",
  );
  assert.ok(svg.trim().endsWith("</svg>"));
});

test("eval sweep: flags -> configs; bad lists are InputErrors", async () => {
  const { sweepConfigs } = await import("../../src/reasoning/eval-sweep.js");
  const cs = sweepConfigs({ strategy: "greedy,sc,bon", samples: "4,8", thinkingBudget: "none,16" });
  assert.deepEqual(
    cs.map((c) => `${c.strategy}/${c.samples}/${c.thinkingBudget ?? "-"}`),
    [
      "greedy/1/-",
      "greedy/1/16",
      "self_consistency/4/-",
      "self_consistency/4/16",
      "self_consistency/8/-",
      "self_consistency/8/16",
      "best_of_n/4/-",
      "best_of_n/4/16",
      "best_of_n/8/-",
      "best_of_n/8/16",
    ],
  );
  assert.throws(() => sweepConfigs({ strategy: "sc", samples: "4,,8" }), InputError);
  assert.throws(() => sweepConfigs({ strategy: "sc", samples: "17" }), InputError);
  assert.throws(() => sweepConfigs({ strategy: "beam", samples: "4" }), InputError);
  assert.throws(() => sweepConfigs({ strategy: "sc", samples: "4", thinkingBudget: "-3" }), InputError);
  // verifiers apply to bon and mcts, budgets to mcts only
  const vs = sweepConfigs({
    strategy: "greedy,bon,mcts",
    samples: "4",
    verifier: "arithmetic,process",
    budget: "300,900",
  });
  assert.deepEqual(
    vs.map((c) => `${c.strategy}/${c.verifierName ?? "-"}/${c.budget ?? "-"}`),
    [
      "greedy/-/-",
      "best_of_n/arithmetic/-",
      "best_of_n/process/-",
      "mcts/arithmetic/300",
      "mcts/arithmetic/900",
      "mcts/process/300",
      "mcts/process/900",
    ],
  );
  assert.equal(vs[2].verifier?.name, "column-process");
  assert.throws(() => sweepConfigs({ strategy: "bon", samples: "4", verifier: "oracle" }), InputError);
  assert.throws(() => sweepConfigs({ strategy: "mcts", samples: "4", budget: "8" }), InputError);
});

test("Wilson 95% interval matches statsmodels' proportion_confint(method='wilson')", async () => {
  const { wilson95 } = await import("../../src/reasoning/eval.js");
  // statsmodels.stats.proportion.proportion_confint(8, 10, method="wilson") = (0.4902, 0.9433)
  const [lo, hi] = wilson95(8, 10);
  assert.ok(Math.abs(lo - 0.4902) < 1e-3 && Math.abs(hi - 0.9433) < 1e-3, `${lo} ${hi}`);
  const [lo0, hi0] = wilson95(0, 20); // (0, 0.1611)
  assert.ok(lo0 === 0 && Math.abs(hi0 - 0.1611) < 1e-3, `${hi0}`);
});

test("exact McNemar test matches scipy.stats.binomtest on the discordant pairs", async () => {
  const { mcnemarExact } = await import("../../src/reasoning/eval.js");
  // 2 right only in a, 8 only in b: binomtest(2, 10, 0.5).pvalue = 0.109375
  const a = "11" + "00000000" + "1" + "0";
  const b = "00" + "11111111" + "1" + "0";
  const m = mcnemarExact(a, b);
  assert.equal(m.onlyA, 2);
  assert.equal(m.onlyB, 8);
  assert.ok(Math.abs(m.p - 0.109375) < 1e-9, `${m.p}`);
  // 5 vs 25: binomtest(5, 30, 0.5).pvalue = 0.000324914...; 3 vs 0: 0.25; no discordant pair: 1
  const m2 = mcnemarExact("1".repeat(5) + "0".repeat(25), "0".repeat(5) + "1".repeat(25));
  assert.ok(Math.abs(m2.p - 0.0003249142) < 1e-8, `${m2.p}`);
  assert.ok(Math.abs(mcnemarExact("111", "000").p - 0.25) < 1e-12);
  assert.equal(mcnemarExact("101", "101").p, 1);
  assert.throws(() => mcnemarExact("10", "1"), /length/);
});

test("eval sweep end to end on a small random model: JSON points and an SVG file", async () => {
  const { mkdtempSync, readFileSync, rmSync } = await import("node:fs");
  const { tmpdir } = await import("node:os");
  const { join } = await import("node:path");
  const { LLM } = await import("../../src/engine/llm.js");
  const { smallModel, SMALL } = await import("../engine/helpers.js");
  const { runSweep, sweepConfigs } = await import("../../src/reasoning/eval-sweep.js");
  const TEMPLATE =
    "{% for m in messages %}{{ m['content'] }}\n{% endfor %}{% if add_generation_prompt %}<think>\n{% endif %}";
  const m = await smallModel({ ...SMALL, metadata: { "tokenizer.chat_template": TEMPLATE } });
  const dir = mkdtempSync(join(tmpdir(), "sweep-"));
  try {
    const llm = new LLM(m.model, m.tokenizer, undefined, { parallel: 4 });
    let out = "";
    const items = arithmeticTask(2);
    const pts = await runSweep(
      llm,
      items,
      sweepConfigs({ strategy: "greedy,sc,bon", samples: "2", thinkingBudget: "none,2", maxTokens: "14" }),
      {
        json: true,
        plot: join(dir, "c.svg"),
        write: (s) => (out += s),
      },
    );
    // MCTS within its token budget (thinking budgets do not apply to it)
    let mout = "";
    const mc = await runSweep(
      llm,
      items,
      sweepConfigs({ strategy: "mcts", samples: "2", thinkingBudget: "none,2", budget: "24" }),
      { json: true, write: (s) => (mout += s) },
    );
    assert.equal(mc.length, 1);
    assert.equal(mc[0].label, "mcts k=2 budget=24 [arithmetic]");
    assert.ok(mc[0].tokensPerQuestion > 0 && mc[0].tokensPerQuestion <= 24, JSON.stringify(mc[0]));
    assert.equal(JSON.parse(mout).points[0].verifier, "arithmetic");
    await llm.close();
    const j = JSON.parse(out);
    assert.equal(j.points.length, 6);
    assert.equal(pts.length, 6);
    for (const p of j.points) {
      assert.ok(p.tokensPerQuestion > 0 && p.tokensPerQuestion <= 2 * 14);
      assert.ok(p.accuracy >= 0 && p.accuracy <= 1);
    }
    const budgeted = j.points.filter((p: { thinkingBudget: number | null }) => p.thinkingBudget === 2);
    for (const p of budgeted)
      assert.ok(p.reasoningTokensPerQuestion <= p.samples * (2 + 9), JSON.stringify(p));
    assert.match(readFileSync(join(dir, "c.svg"), "utf8"), /<svg[\s\S]*<\/svg>/);
    const budgetSvg = readFileSync(join(dir, "c-budget.svg"), "utf8");
    assert.match(budgetSvg, /thinking tokens per question/);
    assert.equal((budgetSvg.match(/<circle /g) ?? []).length, 6, "3 strategies x (no budget, budget 2)");
  } finally {
    rmSync(dir, { recursive: true, force: true });
    m.cleanup();
  }
});

test("eval sweep: --mcts-expansion lists expansions, --mcts-target reaches the search; a linear plot keeps x = 0", async () => {
  const { sweepConfigs } = await import("../../src/reasoning/eval-sweep.js");
  const { configLabel } = await import("../../src/reasoning/eval.js");
  const cs = sweepConfigs({
    strategy: "bon,mcts",
    samples: "2",
    budget: "900",
    mctsExpansion: "diverse,sample",
    mctsTarget: "2",
  });
  assert.deepEqual(
    cs.map((c) => configLabel(c)),
    [
      "best-of-2 [arithmetic]",
      "mcts k=2 budget=900 [arithmetic] target=2",
      "mcts k=2 budget=900 [arithmetic] plain target=2",
    ],
  );
  assert.equal(cs[0].mctsExpansion, undefined);
  assert.throws(() => sweepConfigs({ strategy: "mcts", samples: "2", mctsExpansion: "wide" }), InputError);
  assert.throws(() => sweepConfigs({ strategy: "mcts", samples: "2", mctsTarget: "-1" }), InputError);
  const br = sweepConfigs({ strategy: "mcts", samples: "2", mctsBranchBelow: "0.99" });
  assert.equal(configLabel(br[0]), "mcts k=2 budget=1024 [arithmetic] branch<0.99");
  assert.equal(br[0].mctsBranchBelow, 0.99);
  assert.throws(() => sweepConfigs({ strategy: "mcts", samples: "2", mctsBranchBelow: "1.5" }), InputError);
  const pts = [
    { x: 0, y: 0.85, label: "0" },
    { x: 40, y: 0.83, label: "40" },
  ];
  const linear = accuracySVG([{ name: "all", points: pts }], "curve", "GRPO step", { linear: true });
  assert.equal((linear.match(/<circle /g) ?? []).length, 2);
  assert.ok(!linear.includes("log scale"));
  // the default (tokens, log-capable) axis drops x = 0
  assert.equal((accuracySVG([{ name: "all", points: pts }]).match(/<circle /g) ?? []).length, 1);
});
