// Each processor (and the default chain) against llama.cpp's own samplers, called on the same
// logits through ctypes (gen-golden.py): the surviving token ids and their logits must agree.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { Candidates } from "../../src/sampling/candidates.js";
import {
  LogitBias,
  MinP,
  Temperature,
  TopK,
  TopP,
  type LogitsProcessor,
} from "../../src/sampling/processors.js";

interface Golden {
  logits: number[];
  cases: { chain: [string, unknown][]; out: [number, number][] }[];
}
const groups: Golden[] = JSON.parse(
  readFileSync(new URL("../../../test/sampling/golden.json", import.meta.url), "utf8"),
);

function proc(kind: string, arg: unknown): LogitsProcessor {
  switch (kind) {
    case "top_k":
      return new TopK(arg as number);
    case "top_p":
      return new TopP(arg as number);
    case "min_p":
      return new MinP(arg as number);
    case "temp":
      return new Temperature(arg as number);
    case "logit_bias":
      return new LogitBias(new Map(arg as [number, number][]));
  }
  throw new Error(kind);
}

for (const g of groups) {
  for (const c of g.cases) {
    test(`llama.cpp parity, n=${g.logits.length}: ${JSON.stringify(c.chain).slice(0, 90)}`, () => {
      const cand = Candidates.fromLogits(Float32Array.from(g.logits));
      for (const [k, a] of c.chain) proc(k, a).apply(cand);
      const ours = new Map<number, number>();
      for (let i = 0; i < cand.size; i++) ours.set(cand.ids[i], cand.logits[i]);
      assert.deepEqual(
        [...ours.keys()].sort((a, b) => a - b),
        c.out.map(([i]) => i).sort((a, b) => a - b),
      );
      for (const [id, l] of c.out)
        assert.ok(
          Math.abs(ours.get(id)! - l) <= 1e-5 * Math.max(1, Math.abs(l)),
          `logit of ${id}: ${ours.get(id)} vs ${l}`,
        );
    });
  }
}
