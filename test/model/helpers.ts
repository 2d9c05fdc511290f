// Shared by the model tests that hold a model whose weights live elsewhere (layer streaming,
// experts on demand) against the fully resident one: the run they compare bit for bit, and the
// /metrics counters after one request through the engine.
import assert from "node:assert/strict";
import type { Transformer } from "../../src/model/index.js";
import { Engine } from "../../src/engine/engine.js";
import { Metrics } from "../../src/server/metrics.js";

/** The small model shape these tests and their OPFS runs in Chromium share (arch, layers and types vary). */
export const SMALL_SHAPE = {
  nEmbd: 256,
  nHead: 4,
  nHeadKv: 2,
  nFf: 512,
  nCtx: 128,
  nVocab: 333,
  weightStd: 0.15,
} as const;

export interface GreedyRun {
  /** Logits of every position as raw float bits. */
  logits: Uint32Array[];
  tokens: number[];
}

/** Logits of a 9-token prefill at every position, then `steps` greedy decode steps. */
export function greedyRun(m: Transformer, steps: number): GreedyRun {
  const cache = m.newCache(32);
  const toks = [1, 17, 250, 3, 99, 42, 7, 300, 5];
  const logits = m.forward(
    toks,
    cache,
    toks.map((_, i) => i),
  );
  const tokens: number[] = [];
  let last = logits[logits.length - 1]!;
  for (let s = 0; s < steps; s++) {
    let best = 0;
    for (let i = 1; i < last.length; i++) if (last[i]! > last[best]!) best = i;
    tokens.push(best);
    last = m.forward([best], cache)[0]!;
    logits.push(last);
  }
  return { logits: logits.map((l) => new Uint32Array(l.slice().buffer)), tokens };
}

/** got has ref's greedy tokens and, step by step, its logits bit for bit (`what`: the case). */
export function assertSameRun(got: GreedyRun, ref: GreedyRun, what: string): void {
  assert.deepEqual(got.tokens, ref.tokens, `${what}: greedy tokens`);
  assert.equal(got.logits.length, ref.logits.length);
  for (let i = 0; i < ref.logits.length; i++)
    assert.ok(
      Buffer.from(got.logits[i]!.buffer).equals(Buffer.from(ref.logits[i]!.buffer)),
      `${what}: logits of step ${i} bit-identical`,
    );
}

/** Runs one 3-token greedy request on m through an Engine, then reads its /metrics text: the
 *  value of a metric by name (NaN when absent). */
export async function metricsAfterRequest(m: Transformer): Promise<(name: string) => number> {
  const engine = new Engine(m, undefined, { contextSize: 64, parallel: 1 });
  const metrics = new Metrics(engine);
  for await (const ev of engine.submit({
    prompt: [1, 17, 250],
    maxTokens: 3,
    sampling: { temperature: 0 },
    ignoreEos: true,
    stopTokens: new Set(),
  }))
    void ev;
  await engine.idle();
  const text = await metrics.registry.metrics();
  return (name) => Number(new RegExp(`^${name} (\\S+)$`, "m").exec(text)?.[1]);
}
