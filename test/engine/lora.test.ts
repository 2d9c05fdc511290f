// LoRA adapters through the library API and the engine: adapters loaded with the model apply by
// default, a request picks its own list by id (unknown id: InputError naming it), base + two
// adapters served concurrently in one batch give the same tokens as each alone, and the same
// prompt under two adapters shares no KV blocks (the prefix-cache key includes the adapters).
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { join, dirname } from "node:path";
import { InputError, loadLLM } from "../../src/index.js";
import { writeTestAdapter } from "../../src/model/factory/lora.js";
import { SMALL, smallModel } from "./helpers.js";

const m = await smallModel({ ...SMALL, nCtx: 512 });
after(() => m.cleanup());
const pa = join(dirname(m.path), "style-a.gguf");
const pb = join(dirname(m.path), "style-b.gguf");
await writeTestAdapter(pa, SMALL, {
  rank: 8,
  alpha: 16,
  seed: 1,
  stdB: 0.3,
  targets: ["attn_q", "attn_v", "ffn_down", "output"],
});
await writeTestAdapter(pb, SMALL, { rank: 4, alpha: 8, seed: 2, stdB: 0.3 });
const llm = await loadLLM(m.path, {
  kernels: "ts",
  contextSize: 512,
  blockSize: 8,
  parallel: 4,
  lora: [{ path: pa, scale: 0 }],
});
after(() => llm.close());
await llm.lora.load({ path: pb, id: "b", scale: 0.5 });

const PROMPT = "the quick brown fox jumps over the lazy dog and then";
const greedy = { maxTokens: 8, temperature: 0, ignoreEos: true } as const;
const tokens = async (lora?: { id: string; scale?: number }[]) =>
  (await llm.complete(PROMPT, { ...greedy, lora })).choices[0].tokens;

test("registry: ids from file names, list with sizes, unknown ids are InputErrors naming them", async () => {
  const ids = llm.lora.list().map((a) => a.id);
  assert.deepEqual(ids, ["style-a", "b"]);
  assert.ok(llm.lora.list().every((a) => a.bytes > 0 && a.tensors > 0));
  await assert.rejects(
    tokens([{ id: "nope" }]),
    (e: unknown) => e instanceof InputError && /'nope'/.test(e.message),
  );
  await assert.rejects(llm.lora.load({ path: pb, id: "b" }), /already loaded/);
});

test("base + two adapters concurrently in one batch: same tokens as each alone; no shared KV blocks", async () => {
  const sets: { id: string; scale?: number }[][] = [
    [],
    [{ id: "style-a", scale: 1 }],
    [{ id: "b" }],
    [
      { id: "style-a", scale: 0.5 },
      { id: "b", scale: -1 },
    ],
  ];
  const alone: number[][] = [];
  for (const s of sets) alone.push(await tokens(s));
  // Adapters change the output (random adapters with a large B), and differently.
  assert.notDeepEqual(alone[1], alone[0]);
  assert.notDeepEqual(alone[2], alone[1]);
  // Default (no lora field): style-a is at scale 0 (off), b at 0.5 -> equals [{id: "b"}].
  assert.deepEqual(await tokens(undefined), alone[2]);
  // Concurrently: all four in flight together; the same prompt, so only the adapter salt keeps
  // their KV apart. A second round would hit the prefix cache of the first within each adapter.
  const together = await Promise.all(sets.map((s) => llm.complete(PROMPT, { ...greedy, lora: s })));
  together.forEach((c, i) => assert.deepEqual(c.choices[0].tokens, alone[i], `set ${i}`));
  // Each set's prompt blocks were published under its own key: a rerun of each reuses its own
  // prefix, and different adapters never adopted each other's (their tokens would differ).
  const again = await Promise.all(sets.map((s) => llm.complete(PROMPT, { ...greedy, lora: s })));
  again.forEach((c, i) => {
    assert.deepEqual(c.choices[0].tokens, alone[i]);
    assert.ok(c.usage.cachedTokens > 0);
  });
  // A fresh adapter (new salt) on the same prompt: nothing cached for it.
  await llm.lora.load({ path: pa, id: "a2" });
  const fresh = await llm.complete(PROMPT, { ...greedy, lora: [{ id: "a2" }] });
  assert.equal(fresh.usage.cachedTokens, 0);
  assert.deepEqual(fresh.choices[0].tokens, alone[1]);
  assert.ok(llm.lora.unload("a2"));
  await assert.rejects(tokens([{ id: "a2" }]), InputError);
});
