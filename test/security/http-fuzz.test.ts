/**
 * A seeded slice of the HTTP fuzzer (issue 14) in `npm test`: up to 1,000 requests (55 s budget; at least 250) against two real
 * `edgellm serve` processes (a random-weight Qwen3-vocabulary model behind an API key, and the
 * embedded default model without one). No 5xx, no hang, no auth bypass, /health answers
 * throughout, nothing left running at the end, and at least 30% of the requests reach
 * generation. The full run (>= 20,000 requests) is `npm run fuzz:http`.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defaultConfigs, formatSummary, runFuzz, writeFuzzModels } from "./http-fuzz.js";

const N = Number(process.env.FUZZ_SLICE_N ?? 1000);
/** Sending stops after this long even short of N (a shared CI machine); at least MIN must run. */
const BUDGET_MS = Number(process.env.FUZZ_SLICE_BUDGET_MS ?? 55_000);
const MIN = Math.min(N, 250);

test(
  `HTTP fuzz slice: ${N} seeded requests, no 5xx, no hang, server alive`,
  { timeout: BUDGET_MS + 120_000 },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), "edgellm-http-fuzz-"));
    try {
      const configs = defaultConfigs(await writeFuzzModels(dir, false)).slice(0, 2);
      const s = await runFuzz({
        n: N,
        seed: 14,
        concurrency: 6,
        configs,
        weights: [2, 1],
        deadlineMs: 30_000,
        probeEvery: 100,
        timeBudgetMs: BUDGET_MS,
      });
      const report = formatSummary(s);
      assert.ok(s.requests >= MIN, `only ${s.requests} requests within ${BUDGET_MS} ms\n${report}`);
      assert.deepEqual(
        s.failures.map((f) => `${f.config} #${f.index} [${f.kind}] ${f.reason.slice(0, 200)}`),
        [],
        report,
      );
      assert.equal(s.fivexx, 0);
      assert.equal(s.hangs, 0);
      assert.ok(
        s.reachedGeneration / s.requests >= 0.3,
        `only ${s.reachedGeneration} of ${s.requests} reached generation\n${report}`,
      );
      for (const c of s.configs) {
        assert.ok(
          c.healthProbes >= Math.ceil(c.requests / 200),
          `${c.name}: ${c.healthProbes} health probes`,
        );
        assert.deepEqual(
          { running: c.endState?.running, waiting: c.endState?.waiting, kv: c.endState?.kv_usage },
          { running: 0, waiting: 0, kv: 0 },
        );
        assert.equal(c.exit?.code, 0, `${c.name}: SIGTERM exit`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
