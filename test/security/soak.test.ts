/**
 * A 20-second slice of the soak test (issue 14) in `npm test`: 16 concurrent streaming clients
 * (openai SDK and raw fetch) with random disconnects against a real `edgellm serve`. Asserts 0
 * errors and running = waiting = KV = 0 at the end, and no retained state: the live heap (V8 heap
 * used + ArrayBuffers right after a full GC, forced through a heap snapshot) idle after the load is
 * at most 15% over the live heap under load at ~10 s (four runs here: changes of -1.3 to +0.5 MB
 * on ~28 MB). RSS is printed
 * but not asserted here: in 20 s it still follows V8's heap sizing (165 -> 208 MB in one CI run
 * while the live heap stayed flat); the 10-minute `npm run soak` holds RSS to +5% over 2 minutes.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { runSoak } from "./soak.js";

const SECONDS = Number(process.env.SOAK_SLICE_S ?? 20);

test(
  `soak slice: 16 streaming clients for ${SECONDS} s with disconnects`,
  { timeout: (SECONDS + 90) * 1000 },
  async (t) => {
    const lines: string[] = [];
    const r = await runSoak({
      durationMs: SECONDS * 1000,
      clients: 16,
      seed: 14,
      sampleEveryMs: 5_000,
      baselineAtMs: 7_000,
      liveHeapTolerance: 0.15,
      log: (l) => lines.push(l),
    });
    const report = lines.join("\n");
    t.diagnostic(lines.find((l) => l.startsWith("live heap")) ?? "live heap: not measured");
    assert.deepEqual(r.errors.slice(0, 5), [], report);
    assert.deepEqual(
      { running: r.end.running, waiting: r.end.waiting, kv: r.end.kv },
      { running: 0, waiting: 0, kv: 0 },
      report,
    );
    assert.deepEqual(r.failures, [], report);
    assert.ok(r.completed > 16, `only ${r.completed} streams completed\n${report}`);
    assert.ok(r.aborted > 0, `no disconnects\n${report}`);
  },
);
