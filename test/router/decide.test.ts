// Policy evaluation without a server: every hard rule, privacy, spill, each escalation signal,
// the cost and latency budgets, the explanation text; plus the signals (arithmetic verifier,
// agreement, mean logprob) and feature extraction from raw OpenAI bodies.
import { test } from "node:test";
import assert from "node:assert/strict";
import { parsePolicy } from "../../src/router/policy.js";
import { judgeLocal, planRoute, type RoutingEnv } from "../../src/router/decide.js";
import { extractFeatures, cloudBody, type RequestFeatures } from "../../src/router/features.js";
import { meanLogprob, verifierSignal } from "../../src/router/signals.js";
import { agreement } from "../../src/verify/vote.js";
import { evaluate } from "../../src/verify/expression.js";
import { findExpression } from "../../src/verify/question.js";
import { lastNumber } from "../../src/verify/extract.js";
import { buildVerifier as buildVerify, type VerifierSpec } from "../../src/verify/spec.js";

/** A spec as the router reads it: (question, answer) -> accepted/detail. */
const buildVerifier = (spec: VerifierSpec) => {
  const v = buildVerify(spec);
  return (q: string, a: string) =>
    verifierSignal(v.name, v.verify({ question: q, text: a }) as { score: number });
};
import { PolicyError } from "../../src/router/errors.js";

const env: RoutingEnv = { cloudModel: "big", localContext: 100, localWaiting: 0 };
const feat = (o: Partial<RequestFeatures> = {}): RequestFeatures => ({
  messages: [],
  question: "",
  promptTokens: 10,
  maxTokens: 20,
  n: 1,
  stream: false,
  tools: false,
  images: false,
  privacy: undefined,
  ...o,
});

test("hard rules: context overflow, tools, images go to the cloud with an explanation", () => {
  const p = parsePolicy({});
  const over = planRoute(p, env, feat({ promptTokens: 90, maxTokens: 20 }));
  assert.equal(over.kind, "cloud");
  assert.equal(over.decision.reason, "context_overflow");
  assert.match(over.decision.details, /prompt 90 \+ max_tokens 20 > local context 100/);
  assert.equal(
    planRoute(p, env, feat({ promptTokens: 80, maxTokens: 20 })).kind,
    "local",
    "exactly the context fits",
  );
  assert.equal(
    planRoute(parsePolicy({ local: { contextTokens: 50 } }), env, feat({ promptTokens: 40 })).decision.reason,
    "context_overflow",
  );
  assert.equal(planRoute(p, env, feat({ tools: true })).decision.reason, "needs_tools");
  assert.equal(planRoute(parsePolicy({ local: { tools: true } }), env, feat({ tools: true })).kind, "local");
  assert.equal(planRoute(p, env, feat({ images: true })).decision.reason, "needs_images");
  // serve --mmproj: the local model reads images, so they stay local.
  assert.equal(planRoute(p, { ...env, localImages: true }, feat({ images: true })).kind, "local");
});

test("privacy local_only: never cloud; unservable requests are rejected, not sent", () => {
  const p = parsePolicy({ escalation: { minMeanLogprob: -0.1 } });
  const l = planRoute(p, env, feat({ privacy: "local_only" }));
  assert.equal(l.kind, "local");
  assert.equal((l as { checks: boolean }).checks, false);
  assert.equal(l.decision.reason, "local_only");
  const r = planRoute(p, env, feat({ privacy: "local_only", images: true }));
  assert.equal(r.kind, "reject");
  assert.equal(r.decision.reason, "local_only");
  // A policy-wide local_only cannot be loosened by the request.
  assert.equal(
    planRoute(parsePolicy({ privacy: "local_only" }), env, feat({ privacy: "cloud_ok", tools: true })).kind,
    "reject",
  );
});

test("no cloud configured: local, or rejected when the local model cannot serve", () => {
  const p = parsePolicy({});
  const none = { ...env, cloudModel: undefined };
  assert.equal(planRoute(p, none, feat()).decision.reason, "no_cloud");
  assert.equal(planRoute(p, none, feat({ tools: true })).kind, "reject");
});

test("cost budget: a hard-rule request over budget is rejected; escalation over budget stays local", () => {
  const p = parsePolicy({
    budgets: { maxCostUsd: 0.001 },
    prices: { big: { inputPerMTok: 10, outputPerMTok: 30 } },
    escalation: { minMeanLogprob: -1 },
  });
  // 10 * 10/1e6 + 20 * 30/1e6 = 0.0007 <= 0.001
  const ok = planRoute(p, env, feat({ tools: true }));
  assert.equal(ok.kind, "cloud");
  assert.ok(Math.abs(ok.decision.estimatedCostUsd! - 0.0007) < 1e-12);
  const over = planRoute(p, env, feat({ tools: true, maxTokens: 40 })); // 0.0013
  assert.equal(over.kind, "reject");
  assert.equal(over.decision.reason, "cost_budget");
  const j = judgeLocal(p, env, feat({ maxTokens: 40 }), { text: "x", meanLogprob: -3 }, 0);
  assert.equal(j.route, "local");
  assert.equal(j.reason, "cost_budget");
  assert.match(
    j.details,
    /mean logprob -3 < -1; not escalated: estimated cloud cost \$0.00130 vs budget \$0.001/,
  );
});

test("latency budget: no escalation that cannot finish in time", () => {
  const p = parsePolicy({
    budgets: { maxLatencyMs: 2000 },
    cloud: { expectedFirstTokenMs: 500, expectedPerTokenMs: 10 },
    escalation: { minMeanLogprob: -1 },
  });
  // 500 + 20 * 10 = 700 ms expected
  assert.equal(judgeLocal(p, env, feat(), { text: "x", meanLogprob: -3 }, 1000).route, "cloud");
  const late = judgeLocal(p, env, feat(), { text: "x", meanLogprob: -3 }, 1400);
  assert.equal(late.reason, "latency_budget");
  assert.match(late.details, /1400 ms spent \+ ~700 ms cloud > budget 2000 ms/);
});

test("spill: local queue at the threshold sends to the cloud", () => {
  const p = parsePolicy({ spill: { maxWaiting: 2 } });
  assert.equal(planRoute(p, { ...env, localWaiting: 1 }, feat()).kind, "local");
  const s = planRoute(p, { ...env, localWaiting: 2 }, feat());
  assert.equal(s.kind, "cloud");
  assert.equal(s.decision.reason, "local_overloaded");
  assert.equal(planRoute(p, { ...env, localWaiting: 5 }, feat({ privacy: "local_only" })).kind, "local");
});

test("escalation: verifier, agreement, logprob each escalate; passing checks stay local; order and details", () => {
  const p = parsePolicy({
    escalation: {
      minMeanLogprob: -1,
      agreement: { samples: 3, threshold: 0.6 },
      verifiers: [{ type: "arithmetic" }],
    },
  });
  const plan = planRoute(p, env, feat());
  assert.equal(plan.kind, "local");
  assert.equal((plan as { checks: boolean }).checks, true);
  assert.equal((planRoute(p, env, feat({ n: 2 })) as { checks: boolean }).checks, false);
  const good = {
    text: "4",
    meanLogprob: -0.2,
    agreement: 1,
    verifiers: [{ name: "arithmetic", accepted: true, detail: "2+2 = 4" }],
  };
  const ok = judgeLocal(p, env, feat(), good, 0);
  assert.deepEqual([ok.route, ok.reason], ["local", "local_default"]);
  assert.match(
    ok.details,
    /checks passed: arithmetic: 2\+2 = 4; agreement 1 >= 0.6; mean logprob -0.200 >= -1/,
  );
  const v = judgeLocal(
    p,
    env,
    feat(),
    {
      ...good,
      verifiers: [{ name: "arithmetic", accepted: false, detail: "2+2 = 4; answer says 5" }],
      meanLogprob: -5,
    },
    0,
  );
  assert.deepEqual([v.route, v.reason], ["cloud", "verifier_rejected"]);
  assert.match(v.details, /answer says 5.*mean logprob -5 < -1/);
  assert.deepEqual([judgeLocal(p, env, feat(), { ...good, agreement: 1 / 3 }, 0).reason], ["low_agreement"]);
  assert.deepEqual([judgeLocal(p, env, feat(), { ...good, meanLogprob: -1.01 }, 0).reason], ["low_logprob"]);
  // Not-applicable verifier (undefined) is no objection.
  assert.equal(
    judgeLocal(
      p,
      env,
      feat(),
      { ...good, verifiers: [{ name: "arithmetic", accepted: undefined, detail: "n/a" }] },
      0,
    ).route,
    "local",
  );
  const sc = parsePolicy({ escalation: { minVerifierScore: 0.5 } });
  assert.equal(
    judgeLocal(sc, env, feat(), { text: "x", verifierScore: 0.4 }, 0).reason,
    "low_verifier_score",
  );
  assert.equal(judgeLocal(sc, env, feat(), { text: "x", verifierScore: 0.6 }, 0).route, "local");
});

test("arithmetic verifier: finds and evaluates the expression, reads the answer's last number", () => {
  assert.equal(findExpression("What is 12 + 7 * 3?"), "12 + 7 * 3");
  assert.equal(evaluate("12 + 7 * 3"), 33);
  assert.equal(evaluate("(2+3)*4 - 10/4"), 17.5);
  assert.equal(evaluate("-3 * -2"), 6);
  assert.equal(evaluate("1/0"), undefined);
  assert.equal(evaluate("2 +"), undefined);
  assert.equal(evaluate("12 x 3"), 36);
  assert.equal(findExpression("tell me about the moon"), undefined);
  assert.equal(findExpression("in 1969, 3 men flew"), undefined);
  assert.equal(lastNumber("The answer is 1,234."), 1234);
  const v = buildVerifier({ type: "arithmetic" });
  assert.equal((v("What is 12 + 7 * 3?", "It is 33.") as { accepted: boolean }).accepted, true);
  assert.equal((v("What is 12 + 7 * 3?", "It is 57.") as { accepted: boolean }).accepted, false);
  assert.equal((v("What is 12 + 7 * 3?", "no idea") as { accepted: boolean }).accepted, false);
  assert.equal(
    (v("Who wrote Hamlet?", "Shakespeare") as { accepted: boolean | undefined }).accepted,
    undefined,
  );
  const re = buildVerifier({ type: "regex", pattern: "^\\d+$", flags: "" });
  assert.equal((re("q", "42") as { accepted: boolean }).accepted, true);
  assert.equal((re("q", "forty") as { accepted: boolean }).accepted, false);
  assert.equal((buildVerifier({ type: "nonempty" })("q", "  ") as { accepted: boolean }).accepted, false);
});

test("agreement and mean logprob", () => {
  assert.deepEqual(agreement(["It is 4", "4", "The answer: 4.", "5"]), { share: 0.75, index: 0 });
  assert.deepEqual(agreement(["Paris.", "paris", "Lyon"]), { share: 2 / 3, index: 0 });
  assert.deepEqual(agreement(["a", "b", "c"]).share, 1 / 3);
  assert.equal(meanLogprob([-1, -2, -3]), -2);
  assert.equal(meanLogprob([]), undefined);
});

test("features from raw bodies: text of parts, images, tools, privacy header/body, token count", () => {
  const count = (m: { content: unknown }[]) => m.map((x) => String(x.content)).join("").length;
  const f = extractFeatures(
    {
      model: "m",
      messages: [
        { role: "system", content: "be brief" },
        {
          role: "user",
          content: [
            { type: "text", text: "what is " },
            { type: "image_url", image_url: { url: "data:," } },
            { type: "text", text: "this" },
          ],
        },
      ],
      tools: [{ type: "function", function: { name: "f" } }],
      max_completion_tokens: 9,
      stream: true,
    },
    {},
    count,
  );
  assert.equal(f.question, "what is this");
  assert.ok(f.images && f.tools && f.stream);
  assert.equal(f.maxTokens, 9);
  assert.equal(f.promptTokens, "be briefwhat is this".length);
  assert.equal(
    extractFeatures(
      { messages: [{ role: "user", content: "x" }] },
      { "x-edgellm-privacy": "local_only" },
      count,
    ).privacy,
    "local_only",
  );
  assert.equal(
    extractFeatures({ privacy: "cloud_ok" }, { "x-edgellm-privacy": "local_only" }, count).privacy,
    "local_only",
  );
  assert.throws(() => extractFeatures({}, { "x-edgellm-privacy": "secret" }, count), PolicyError);
  assert.equal(extractFeatures("garbage", {}, count).promptTokens, 0);
  assert.deepEqual(cloudBody({ model: "m", privacy: "cloud_ok", messages: [] }), {
    model: "m",
    messages: [],
  });
});

test("refusal verifier: the default pattern catches the default model's decline phrases (en, zh); reason local_declined", () => {
  const p = parsePolicy({ escalation: { verifiers: [{ type: "refusal" }, { type: "arithmetic" }] } });
  const v = buildVerifier(p.escalation.verifiers[0]);
  // The phrasings the default model is trained on (src/train/data/chat.ts).
  for (const a of [
    "<think>\nThis is not an arithmetic question.\n</think>\nI can't answer that locally. I am a small on-device model and I only do arithmetic.",
    "Sorry, I can't answer that locally. Please ask me an addition, subtraction or multiplication question.",
    "这个问题我无法在本地回答。我是一个设备上的小模型，只会做算术。",
    "抱歉，我无法在本地回答这个问题。",
  ]) {
    assert.equal((v("q", a) as { accepted: boolean }).accepted, false, a);
  }
  assert.equal(
    (v("What is 2 + 2?", "<think>\n2 + 2 = 4\n</think>\nThe answer is 4.") as { accepted: boolean }).accepted,
    true,
  );
  const d = judgeLocal(
    p,
    env,
    feat(),
    {
      text: "x",
      verifiers: [
        { name: "refusal", accepted: false, detail: 'the local model declined ("can\'t answer that")' },
      ],
    },
    0,
  );
  assert.deepEqual([d.route, d.reason], ["cloud", "local_declined"]);
  const custom = parsePolicy({
    escalation: { verifiers: [{ type: "refusal", pattern: "^NOPE", flags: "m" }] },
  });
  assert.deepEqual(custom.escalation.verifiers[0], { type: "refusal", pattern: "^NOPE", flags: "m" });
  assert.throws(
    () => parsePolicy({ escalation: { verifiers: [{ type: "refusal", flags: "i" }] } }),
    /needs a 'pattern'/,
  );
});

test("arithmetic verifier reads the default model's question phrasings (words, Chinese operators)", () => {
  const cases: [string, number][] = [
    ["What is 4821 plus 377?", 5198],
    ["Add 12 and 30.", 42],
    ["Subtract 377 from 4821.", 4444],
    ["Multiply 12 by 7.", 84],
    ["What is 12 times 7?", 84],
    ["Calculate 12 x 7.", 84],
    ["What is 12 × 7?", 84],
    ["1200 divided by 4", 300],
    ["{a} + {b} = ?".replace("{a}", "9").replace("{b}", "8"), 17],
    ["35 加 7 是多少？", 42],
    ["35 减 7 是多少？", 28],
    ["6 乘以 7 是多少？", 42],
    ["计算 1250 + 2675。", 3925],
  ];
  for (const [q, want] of cases) {
    const e = findExpression(q);
    assert.ok(e !== undefined, q);
    assert.equal(evaluate(e), want, `${q} -> ${e}`);
  }
  assert.equal(findExpression("Please add salt and pepper."), undefined);
  assert.equal(findExpression("我参加了会议"), undefined);
});
