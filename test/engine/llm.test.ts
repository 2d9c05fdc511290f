// The public library API: loadLLM with progress, generate (n samples, seed, stop, abort), chat
// sessions whose second turn reuses the first turn's KV blocks.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { loadLLM, type LoadProgress } from "../../src/index.js";
import { SMALL, smallModel } from "./helpers.js";

const m = await smallModel({ ...SMALL, nCtx: 512 });
after(() => m.cleanup());
const phases: LoadProgress[] = [];
const llm = await loadLLM(m.path, {
  kernels: "ts",
  contextSize: 512,
  blockSize: 8,
  onProgress: (p) => phases.push(p),
});
after(() => llm.close());

test("load reports progress: phases in order, one event per tensor, fractions rising to 1", async () => {
  const { openGGUF } = await import("../../src/gguf/reader.js");
  const f = await openGGUF(m.path);
  const names = f.tensors.map((t) => t.name);
  const total = f.tensors.reduce((a, t) => a + t.nBytes, 0);
  await f.close();
  const kinds = phases.map((p) => p.phase);
  assert.deepEqual(kinds, ["open", "kernels", ...Array(names.length + 1).fill("weights"), "bind", "ready"]);
  const w = phases.filter((p) => p.phase === "weights");
  assert.deepEqual(
    w.slice(1).map((p) => p.tensor),
    names,
  );
  assert.equal(w.at(-1)!.loadedBytes, total);
  assert.ok(w.every((p) => p.totalBytes === total));
  for (let i = 1; i < phases.length; i++)
    assert.ok(phases[i].fraction >= phases[i - 1].fraction, `fraction fell at event ${i}`);
  assert.equal(phases.at(-1)!.fraction, 1);
});

test("complete: n samples with seeds seed+i; greedy equals the engine's tokens", async () => {
  const a = await llm.complete("hello world", {
    maxTokens: 6,
    temperature: 1,
    seed: 3,
    n: 2,
    ignoreEos: true,
  });
  assert.equal(a.choices.length, 2);
  const b0 = await llm.complete("hello world", { maxTokens: 6, temperature: 1, seed: 3, ignoreEos: true });
  const b1 = await llm.complete("hello world", { maxTokens: 6, temperature: 1, seed: 4, ignoreEos: true });
  assert.deepEqual(a.choices[0].tokens, b0.choices[0].tokens);
  assert.deepEqual(a.choices[1].tokens, b1.choices[0].tokens);
  assert.equal(a.usage.completionTokens, 12);
});

test("generate honours an AbortSignal", async () => {
  const ac = new AbortController();
  let n = 0;
  let reason = "";
  for await (const c of llm.generate("abc", {
    maxTokens: 200,
    temperature: 0,
    ignoreEos: true,
    signal: ac.signal,
  })) {
    if (c.type === "token" && ++n === 2) ac.abort();
    if (c.type === "done") reason = c.reason;
  }
  assert.equal(reason, "abort");
  assert.ok(n < 10);
});

test("chat session: history kept; the second turn reuses the first turn's KV prefix", async () => {
  const s = llm.createSession("be brief");
  let first = "";
  for await (const c of s.send("hi there, how are you today?", {
    maxTokens: 8,
    temperature: 0,
    ignoreEos: true,
  }))
    first += c.text;
  let cached = 0;
  for await (const c of s.send("and tomorrow?", { maxTokens: 4, temperature: 0, ignoreEos: true }))
    if (c.type === "done") cached = c.cachedTokens;
  assert.equal(s.messages.length, 5); // system, user, assistant, user, assistant
  assert.equal(s.messages[2].content, first);
  assert.ok(cached >= 8, `cached ${cached}`);
  s.reset();
  assert.equal(s.messages.length, 1);
});
