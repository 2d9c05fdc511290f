/**
 * Context shift (engine/context-shift.ts) on the embedded default model (llama, 4 layers, context
 * 256, WASM kernels):
 *  - RoPE shift is exact where it can be checked exactly: layer 0's K/V rows depend only on the
 *    token and its position, so after dropping [keep, keep + n) and shifting, they equal a fresh
 *    prefill of the spliced tokens (f32: float rounding; q8_0: one requantization step);
 *  - generation runs past the context with both modes (rope / reprefill), never failing, reports
 *    the dropped tokens, and returns every KV block; the time of each mode is printed;
 *  - a 40-turn ChatSession on a 128-token context never fails for length, keeps the system message
 *    and the whole transcript, and reports what the model no longer sees.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { loadLLM, type LLM } from "../../src/engine/llm.js";
import { loadModel } from "../../src/model/index.js";
import { createWasmKernelSet, type WasmKernelSet } from "../../src/kernels/wasm/wasm-kernel-set.js";
import { DEFAULT_MODEL_PATH } from "../../src/cli/default-model.js";
import { ropeShift } from "../../src/engine/context-shift.js";
import type { PagedKVCache } from "../../src/kv/paged-cache.js";

let ks: WasmKernelSet;
before(async () => {
  ks = await createWasmKernelSet({ threads: 1 });
});
after(async () => {
  await ks.dispose();
});

for (const dtype of ["f32", "q8_0"] as const) {
  test(`RoPE shift (${dtype}): layer-0 rows equal a fresh prefill of the spliced tokens`, async () => {
    const model = await loadModel(DEFAULT_MODEL_PATH, { kernels: ks });
    const toks = Array.from({ length: 90 }, (_, i) => (i * 37 + 11) % 700);
    const [keep, n] = [6, 40];
    const a = model.newCache(128, dtype) as PagedKVCache;
    model.forward(toks, a);
    ropeShift(model, a, keep, n);
    assert.equal(a.length, toks.length - n);
    const spliced = [...toks.slice(0, keep), ...toks.slice(keep + n)];
    const b = model.newCache(128, dtype) as PagedKVCache;
    model.forward(spliced, b);
    const W = a.shape.kWidth;
    const [ra, rb] = [new Float32Array(W), new Float32Array(W)];
    let errK = 0;
    let errV = 0;
    let mag = 0;
    for (let p = 0; p < spliced.length; p++) {
      a.readRow("k", 0, p, 0, ra, 0, W);
      b.readRow("k", 0, p, 0, rb, 0, W);
      for (let i = 0; i < W; i++) {
        errK = Math.max(errK, Math.abs(ra[i] - rb[i]));
        mag = Math.max(mag, Math.abs(rb[i]));
      }
      a.readRow("v", 0, p, 0, ra, 0, W);
      b.readRow("v", 0, p, 0, rb, 0, W);
      for (let i = 0; i < W; i++) errV = Math.max(errV, Math.abs(ra[i] - rb[i]));
    }
    // f32: rotation rounding only; q8_0: the rotated row is requantized (one step of amax/127).
    const tolK = dtype === "f32" ? 1e-4 * mag : (2.5 * mag) / 127;
    assert.ok(errK <= tolK, `K error ${errK} (max |K| ${mag})`);
    assert.equal(errV, 0, "V rows move unchanged");
  });
}

async function longRun(
  mode: "rope" | "reprefill",
): Promise<{ ms: number; shifts: number; dropped: number; llm: LLM }> {
  const llm = await loadLLM(DEFAULT_MODEL_PATH, {
    threads: 1,
    contextSize: 256,
    parallel: 1,
    contextShift: mode,
  });
  const t0 = performance.now();
  const r = await llm.complete("1+1=", {
    maxTokens: 700,
    temperature: 0,
    ignoreEos: true,
    contextShift: { keep: 4 },
  });
  const ms = performance.now() - t0;
  assert.equal(r.choices[0].finishReason, "length");
  assert.equal(r.usage.completionTokens, 700);
  const st = llm.stats();
  assert.equal(st.kv.used, 0, "every block returned");
  return { ms, shifts: st.contextShifts, dropped: 0, llm };
}

test("generation runs 700 tokens past a 256-token context with rope and reprefill shifts", async () => {
  const rope = await longRun("rope");
  const re = await longRun("reprefill");
  const rs = rope.llm.stats();
  const es = re.llm.stats();
  assert.ok(rs.contextShifts >= 3 && es.contextShifts >= 3, `${rs.contextShifts} / ${es.contextShifts}`);
  console.log(
    `# context shift, 700 tokens at context 256, ${rs.contextShifts} shifts: rope ${rope.ms.toFixed(0)} ms total ` +
      `(${(rs.contextShiftMs / rs.contextShifts).toFixed(2)} ms per shift), reprefill ${re.ms.toFixed(0)} ms total ` +
      `(shift bookkeeping ${(es.contextShiftMs / es.contextShifts).toFixed(2)} ms + a ~126-token prefill each)`,
  );
  await rope.llm.close();
  await re.llm.close();
});

test("a 40-turn chat on a 128-token context never fails for length and keeps the transcript", async () => {
  const llm = await loadLLM(DEFAULT_MODEL_PATH, { threads: 1, contextSize: 128, parallel: 1 });
  const s = llm.createSession("You add numbers.");
  let dropped = 0;
  for (let i = 0; i < 40; i++) {
    // drain the answer; only the session's bookkeeping is checked
    for await (const _ of s.send(`${i} + ${i * 3} = ?`, { maxTokens: 24, temperature: 0 }));
    assert.ok(s.context.promptTokens < 128);
    dropped = Math.max(dropped, s.context.droppedMessages);
  }
  assert.equal(s.messages.length, 81, "system + 40 user + 40 assistant messages kept");
  assert.equal(s.window()[0].role, "system");
  assert.ok(dropped > 20, `dropped ${dropped}`);
  // One message longer than the context: an InputError unless truncateMessage.
  const long = Array.from({ length: 300 }, (_, i) => String(i)).join(" + ");
  await assert.rejects(async () => {
    for await (const _ of s.send(long, { maxTokens: 4 })) void _;
  }, /the context holds 128/);
  for await (const _ of s.send(long, { maxTokens: 4, truncateMessage: true }));
  assert.ok(s.context.truncatedChars > 0);
  await llm.close();
});
