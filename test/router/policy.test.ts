// Policy file validation (defaults, strict keys, clear errors with the JSON path) and the
// example policy shipped in examples/policy.json.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { DEFAULT_POLICY, hasEscalation, loadPolicy, parsePolicy } from "../../src/router/policy.js";
import { PolicyError } from "../../src/router/errors.js";
import { InputError } from "../../src/errors.js";

const EXAMPLE = fileURLToPath(new URL("../../../examples/policy.json", import.meta.url));

test("empty policy = defaults; no escalation", () => {
  const p = parsePolicy({});
  assert.deepEqual(p.cloud, DEFAULT_POLICY.cloud);
  assert.equal(p.privacy, "cloud_ok");
  assert.equal(hasEscalation(p), false);
});

test("full policy parses with every field", () => {
  const p = parsePolicy({
    privacy: "local_only",
    local: { contextTokens: 512, tools: true, images: false },
    escalation: {
      minMeanLogprob: -2,
      agreement: { samples: 4, threshold: 0.75 },
      verifiers: [
        { type: "arithmetic" },
        { type: "regex", pattern: "^\\d+$", flags: "m" },
        { type: "nonempty" },
      ],
      minVerifierScore: 0.5,
    },
    budgets: { maxCostUsd: 0.01, maxLatencyMs: 5000, assumeOutputTokens: 100 },
    prices: { "big-model": { inputPerMTok: 0.5, outputPerMTok: 1.5 } },
    cloud: { timeoutMs: 1000, maxRetries: 0 },
    spill: { maxWaiting: 3 },
  });
  assert.equal(p.local.contextTokens, 512);
  assert.equal(p.escalation.agreement!.temperature, 0.7);
  assert.equal(p.escalation.verifiers.length, 3);
  assert.deepEqual(p.escalation.verifiers[1], { type: "regex", pattern: "^\\d+$", flags: "m" });
  assert.equal(p.cloud.timeoutMs, 1000);
  assert.equal(p.cloud.streamIdleMs, DEFAULT_POLICY.cloud.streamIdleMs);
  assert.equal(p.spill.maxWaiting, 3);
  assert.ok(hasEscalation(p));
});

test("bad policies: typed PolicyError (an InputError) naming the JSON path", () => {
  const bad: [unknown, RegExp][] = [
    [[], /must be an object/],
    [{ privacy: "public" }, /privacy.*local_only.*cloud_ok/],
    [{ escalaton: {} }, /escalaton: unknown key/],
    [{ escalation: { minMeanLogprob: 1 } }, /escalation.minMeanLogprob: must be in/],
    [{ escalation: { minMeanLogprob: "low" } }, /escalation.minMeanLogprob: must be a number/],
    [
      { escalation: { agreement: { samples: 1, threshold: 0.5 } } },
      /escalation.agreement.samples: must be in \[2, 16\]/,
    ],
    [{ escalation: { agreement: { samples: 3 } } }, /needs 'samples'.*'threshold'/],
    [{ escalation: { verifiers: [{ type: "oracle" }] } }, /verifiers\[0\].type/],
    [{ escalation: { verifiers: [{ type: "regex", pattern: "(" }] } }, /invalid regular expression/],
    [{ escalation: { verifiers: {} } }, /escalation.verifiers: must be an array/],
    [{ prices: { m: { inputPerMTok: 1 } } }, /prices.m: needs/],
    [{ cloud: { maxRetries: 2.5 } }, /cloud.maxRetries: must be an integer/],
    [{ cloud: { backoffBaseMs: 100, backoffMaxMs: 10 } }, /backoffMaxMs: must be >=/],
    [{ budgets: { maxCostUsd: -1 } }, /budgets.maxCostUsd/],
    [{ local: { tools: "yes" } }, /local.tools: must be true or false/],
    [
      { escalation: { verifiers: [{ type: "nonempty" }, { type: "regex" }] } },
      /verifiers\[1\].pattern: must be a string/,
    ],
    [
      { escalation: { verifiers: [{ type: "arithmetic", pattern: "x" }] } },
      /verifiers\[0\]: 'arithmetic' takes no pattern/,
    ],
    [
      { escalation: { verifiers: [{ type: "refusal", flags: "i" }] } },
      /verifiers\[0\].flags: needs a 'pattern'/,
    ],
    [{ cloud: { timeoutMs: null } }, /cloud.timeoutMs: must be a number, got null/],
    [{ spill: { maxWaiting: 1, extra: 2 } }, /spill.extra: unknown key/],
    [{ prices: [] }, /prices: must be an object of model -> price/],
  ];
  for (const [json, re] of bad) {
    assert.throws(
      () => parsePolicy(json, "p.json"),
      (e: unknown) =>
        e instanceof PolicyError &&
        e instanceof InputError &&
        re.test((e as Error).message) &&
        (e as Error).message.includes("p.json"),
      `${JSON.stringify(json)} should fail with ${re}`,
    );
  }
});

test("loadPolicy: the shipped example validates; unreadable and non-JSON files fail clearly", async () => {
  const p = await loadPolicy(EXAMPLE);
  assert.ok(hasEscalation(p));
  const dir = mkdtempSync(join(tmpdir(), "policy-"));
  try {
    writeFileSync(join(dir, "bad.json"), "{ privacy: ");
    await assert.rejects(
      loadPolicy(join(dir, "bad.json")),
      (e: Error) => e instanceof PolicyError && /not valid JSON/.test(e.message),
    );
    await assert.rejects(
      loadPolicy(join(dir, "missing.json")),
      (e: Error) => e instanceof PolicyError && /cannot read/.test(e.message),
    );
    // a file that parses as JSON but not as a policy: the error names the file and the JSON path
    writeFileSync(join(dir, "typo.json"), JSON.stringify({ budgets: { maxCostUSD: 0.01 } }));
    await assert.rejects(
      loadPolicy(join(dir, "typo.json")),
      (e: Error) =>
        e instanceof PolicyError &&
        e.context.field === "budgets.maxCostUSD" &&
        e.message.startsWith("policy: budgets.maxCostUSD: unknown key") &&
        e.message.includes("typo.json"),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
