// A small random-weight llama GGUF (factory) loaded once per test file, with its tokenizer; the
// speculative tests' counters and two-sample distribution check.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openGGUF } from "../../src/gguf/reader.js";
import { writeTestModel, type TestModelSpec } from "../../src/model/factory/index.js";
import { loadFromFile, type Transformer } from "../../src/model/index.js";
import { Tokenizer } from "../../src/tokenizer/tokenizer.js";
import type { LLM } from "../../src/index.js";

export const SMALL: TestModelSpec = {
  arch: "llama",
  nEmbd: 64,
  nLayer: 2,
  nHead: 4,
  nHeadKv: 2,
  nFf: 96,
  nCtx: 256,
  nVocab: 400,
  seed: 5,
};

export async function smallModel(
  spec: TestModelSpec = SMALL,
): Promise<{ model: Transformer; tokenizer: Tokenizer; path: string; cleanup: () => void }> {
  const dir = mkdtempSync(join(tmpdir(), "engine-"));
  const path = join(dir, "m.gguf");
  await writeTestModel(path, spec);
  const file = await openGGUF(path);
  try {
    const model = loadFromFile(file);
    const tokenizer = Tokenizer.fromMetadata(file.metadata);
    return { model, tokenizer, path, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
  } finally {
    await file.close();
  }
}

/** Deterministic pseudo-random prompt of n token ids in [3, nVocab). */
export function prompt(n: number, seed: number, nVocab = 400): number[] {
  let x = seed * 2654435761;
  return Array.from({ length: n }, () => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    return 3 + (x % (nVocab - 3));
  });
}

/** What an LLM's speculative counters and steps grew by since the stats s0. */
export function speculativeDelta(llm: LLM, s0: ReturnType<LLM["stats"]>) {
  const s = llm.stats();
  return {
    steps: s.steps - s0.steps,
    drafted: s.draftTokens - s0.draftTokens,
    accepted: s.acceptedDraftTokens - s0.acceptedDraftTokens,
    draftForwards: s.draftForwards - s0.draftForwards,
  };
}

/**
 * Two-sample chi-square of the outputs a(s) and b(s) over n seeds s (each output a string: a cell):
 * cells with fewer than 10 draws in all pooled into one; asserts chi2 below its 0.999 quantile
 * (Wilson–Hilferty) with at least 6 degrees of freedom. `note` adds to the logged line.
 */
export async function assertSameDistribution(
  n: number,
  a: (seed: number) => Promise<string>,
  b: (seed: number) => Promise<string>,
  note: () => string = () => "",
): Promise<void> {
  const cells = new Map<string, [number, number]>();
  for (let s = 0; s < n; s++) {
    const x = await a(s);
    const y = await b(s);
    (cells.get(x) ?? cells.set(x, [0, 0]).get(x)!)[0]++;
    (cells.get(y) ?? cells.set(y, [0, 0]).get(y)!)[1]++;
  }
  let chi = 0;
  let dof = -1;
  const pool = [0, 0];
  for (const [x, y] of cells.values()) {
    if (x + y < 10) {
      pool[0] += x;
      pool[1] += y;
      continue;
    }
    chi += (x - y) ** 2 / (x + y);
    dof++;
  }
  if (pool[0] + pool[1] > 0) {
    chi += (pool[0] - pool[1]) ** 2 / (pool[0] + pool[1]);
    dof++;
  }
  // 0.999 quantile (Wilson–Hilferty)
  const crit = dof * (1 - 2 / (9 * dof) + 3.09 * Math.sqrt(2 / (9 * dof))) ** 3;
  console.log(`# chi2 ${chi.toFixed(1)}, ${dof} dof, ${note()}`);
  assert.ok(chi < crit, `chi2 ${chi.toFixed(1)} with ${dof} dof (critical ${crit.toFixed(1)})`);
  assert.ok(dof >= 6, `${cells.size} distinct outputs, ${dof} dof`);
}
