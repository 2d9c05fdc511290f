import { test } from "node:test";
import assert from "node:assert/strict";
import { runFuzz } from "./gguf-fuzz.js";

test(
  "10,000 seeded GGUF mutations: only clean parses or GGUFError, none slow every time (a hang)",
  { timeout: 60_000 },
  () => {
    // A parse over 1 s on three tries is a hang or quadratic work: a failure. The 100 ms budget
    // of `npm run fuzz` is a benchmark figure (bench/test-speeds.ts), not asserted here.
    const s = runFuzz({ iterations: 10_000, seed: 1, maxMs: 1000 });
    assert.equal(s.iterations, 10_000);
    assert.deepEqual(s.failures.slice(0, 5), [], `${s.failures.length} failures`);
    // The mutations must actually exercise both outcomes and many distinct checks.
    assert.ok(s.ggufErrors > 1000, `only ${s.ggufErrors} GGUFErrors`);
    assert.ok(s.cleanParses > 100, `only ${s.cleanParses} clean parses`);
    assert.ok(s.errorKinds.size >= 15, `only ${s.errorKinds.size} distinct error kinds`);
  },
);
