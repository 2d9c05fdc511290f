// Saved sessions (kv/session.ts): a sequence's KV saved by one LLM and restored into another
// loaded from the same file continues with the same greedy tokens and prefills none of the
// restored blocks; another model or KV type is a SessionError; truncated, bit-flipped and hostile
// (re-checksummed) files are SessionErrors, never another exception.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadLLM } from "../../src/index.js";
import { SessionError } from "../../src/errors.js";
import { decodeSession, hashBytes } from "../../src/kv/session.js";
import { writeTestModel, type TestModelSpec } from "../../src/model/factory/index.js";
import { prompt } from "../engine/helpers.js";

// head_dim 32 so Q8_0/Q4_0 caches apply.
const SPEC: TestModelSpec = {
  arch: "llama",
  nEmbd: 128,
  nLayer: 2,
  nHead: 4,
  nHeadKv: 2,
  nFf: 96,
  nCtx: 256,
  nVocab: 400,
  seed: 7,
};
const dir = mkdtempSync(join(tmpdir(), "session-"));
const path = join(dir, "m.gguf");
const other = join(dir, "other.gguf");
await writeTestModel(path, SPEC);
await writeTestModel(other, { ...SPEC, seed: 8 });
test.after(() => rmSync(dir, { recursive: true, force: true }));

const OPTS = { contextSize: 256, blockSize: 8, parallel: 1, threads: 1 } as const;
const greedy = { temperature: 0, ignoreEos: true } as const;

for (const kvType of ["f32", "f16", "q8_0", "q4_0"] as const) {
  test(`a ${kvType} session restored in a new LLM continues with the same greedy tokens, restored blocks not prefilled`, async () => {
    const a = await loadLLM(path, { ...OPTS, kvType });
    const b = await loadLLM(path, { ...OPTS, kvType });
    try {
      const p = prompt(45, 3);
      const first = await a.complete(p, { ...greedy, maxTokens: 20 });
      const seq = [...p, ...first.choices[0].tokens];
      const bytes = a.exportSession(seq);
      // Uninterrupted: A continues the sequence (its prefix cache holds the blocks).
      const more = [...seq, 11, 12, 13];
      const refA = await a.complete(more, { ...greedy, maxTokens: 12 });
      const restored = b.importSession(bytes);
      assert.deepEqual(restored.tokens, seq);
      assert.equal(restored.restoredTokens, Math.floor(seq.length / 8) * 8);
      const resumed = await b.complete(more, { ...greedy, maxTokens: 12 });
      assert.deepEqual(resumed.choices[0].tokens, refA.choices[0].tokens);
      assert.equal(resumed.usage.cachedTokens, refA.usage.cachedTokens);
      assert.equal(resumed.usage.cachedTokens, restored.restoredTokens);
    } finally {
      await a.close();
      await b.close();
    }
  });
}

test("a chat session saved to a file resumes in another LLM (messages, window, KV)", async () => {
  const a = await loadLLM(path, { ...OPTS, kernels: "ts" });
  const b = await loadLLM(path, { ...OPTS, kernels: "ts" });
  try {
    const s = a.createSession("sys");
    for await (const _ of s.send("hello there", { ...greedy, maxTokens: 10 }));
    const file = join(dir, "chat.session");
    await s.save(file);
    const r = await b.loadSession(file);
    assert.ok(r.chat);
    assert.deepEqual(r.chat.messages, s.messages);
    assert.ok(r.restoredTokens > 0);
    const ref: number[] = [];
    const got: number[] = [];
    let cachedRef = -1;
    let cachedGot = -2;
    for await (const c of s.send("again", { ...greedy, maxTokens: 6 }))
      if (c.type === "token") ref.push(c.token);
      else cachedRef = c.cachedTokens;
    for await (const c of r.chat.send("again", { ...greedy, maxTokens: 6 }))
      if (c.type === "token") got.push(c.token);
      else cachedGot = c.cachedTokens;
    assert.deepEqual(got, ref);
    assert.equal(cachedGot, cachedRef);
    assert.ok(cachedGot > 0);
  } finally {
    await a.close();
    await b.close();
  }
});

test("another model or another KV type is a typed SessionError", async () => {
  const a = await loadLLM(path, { ...OPTS, kernels: "ts", kvType: "q8_0" });
  const o = await loadLLM(other, { ...OPTS, kernels: "ts", kvType: "q8_0" });
  const f = await loadLLM(path, { ...OPTS, kernels: "ts", kvType: "f16" });
  const v = await loadLLM(path, { ...OPTS, kernels: "ts", kvType: "q8_0", kvTypeV: "f16" });
  try {
    const p = prompt(30, 1);
    await a.complete(p, { ...greedy, maxTokens: 4 });
    const bytes = a.exportSession(p);
    assert.notEqual(a.fingerprint, o.fingerprint);
    assert.throws(
      () => o.importSession(bytes),
      (e: unknown) => e instanceof SessionError && e.code === "model",
    );
    assert.throws(
      () => f.importSession(bytes),
      (e: unknown) => e instanceof SessionError && e.code === "kv" && /kType/.test(e.message),
    );
    assert.throws(
      () => v.importSession(bytes),
      (e: unknown) => e instanceof SessionError && e.code === "kv" && /vType/.test(e.message),
    );
    await assert.rejects(a.loadSession(join(dir, "missing.session")), SessionError);
  } finally {
    for (const l of [a, o, f, v]) await l.close();
  }
});

test("truncated, bit-flipped and hostile session files are SessionErrors", async () => {
  const a = await loadLLM(path, { ...OPTS, kernels: "ts", kvType: "q4_0" });
  try {
    const p = prompt(40, 2);
    await a.complete(p, { ...greedy, maxTokens: 4 });
    const bytes = a.exportSession(p);
    assert.equal(decodeSession(bytes).header.nBlocks, 5);
    const expectSession = (b: Uint8Array, what: string) => {
      try {
        a.importSession(b);
      } catch (e) {
        assert.ok(e instanceof SessionError, `${what}: ${String(e)}`);
        return;
      }
      assert.fail(`${what}: accepted`);
    };
    let n = 0;
    for (let len = 0; len < bytes.length; len += len < 64 ? 1 : 97, n++)
      expectSession(bytes.subarray(0, len), `truncated to ${len}`);
    let x = 12345;
    for (let i = 0; i < 300; i++, n++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      const c = bytes.slice();
      c[x % c.length] ^= 1 << (x >>> 29);
      expectSession(c, `bit flip at ${x % c.length}`);
    }
    // Hostile headers with a valid checksum.
    const H = new DataView(bytes.buffer, bytes.byteOffset).getUint32(12, true);
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(16, 16 + H)));
    const payload = bytes.subarray(16 + H, bytes.length - 8);
    const forge = (h: unknown, pl = payload, version = 2): Uint8Array => {
      const j = new TextEncoder().encode(typeof h === "string" ? h : JSON.stringify(h));
      const out = new Uint8Array(16 + j.length + pl.length + 8);
      out.set(bytes.subarray(0, 8));
      const dv = new DataView(out.buffer);
      dv.setUint32(8, version, true);
      dv.setUint32(12, j.length, true);
      out.set(j, 16);
      out.set(pl, 16 + j.length);
      out.set(hashBytes(out, out.length - 8), out.length - 8);
      return out;
    };
    a.importSession(forge(header)); // the forger itself is right
    const hostile: [string, unknown, Uint8Array?][] = [
      ["not json", "{nope"],
      ["array", [1, 2]],
      ["null", null],
      ["negative token", { ...header, tokens: [-1, ...header.tokens.slice(1)] }],
      ["token past vocab", { ...header, tokens: [400, ...header.tokens.slice(1)] }],
      ["fractional token", { ...header, tokens: [1.5, ...header.tokens.slice(1)] }],
      ["more blocks than tokens", { ...header, tokens: header.tokens.slice(0, 8) }],
      ["huge nBlocks", { ...header, nBlocks: 2 ** 31 - 1 }],
      ["wrong blockBytes", { ...header, blockBytes: header.blockBytes + 1 }],
      ["bad kType", { ...header, kType: "q2_k" }],
      ["other block size", { ...header, blockSize: 4, nBlocks: 10, blockBytes: header.blockBytes / 2 }],
      ["bad chat", { ...header, chat: { messages: [{ role: 1, content: "x" }], first: 0 } }],
      ["chat first past end", { ...header, chat: { messages: [], first: 3 } }],
      ["short payload", header, payload.subarray(0, payload.length - 1)],
      ["no groups", { ...header, groups: undefined }],
      ["a layer in two groups", { ...header, groups: [header.groups[0], header.groups[0]] }],
      ["a layer missing", { ...header, groups: [{ ...header.groups[0], layers: [0] }] }],
      ["global group not from block 0", { ...header, groups: [{ ...header.groups[0], first: 1 }] }],
      ["negative window", { ...header, groups: [{ ...header.groups[0], window: -4 }] }],
    ];
    for (const [what, h, pl] of hostile) expectSession(forge(h, pl), what);
    assert.throws(
      () => a.importSession(forge(header, payload, 3)),
      (e: unknown) => e instanceof SessionError && e.code === "version",
    );
    // A version-1 file (no groups: every layer's full KV) still loads into a one-group engine.
    const v1 = { ...header, groups: undefined };
    assert.equal(a.importSession(forge(v1, payload, 1)).tokens.length, header.tokens.length);
    expectSession(forge(header, payload, 1), "a version-1 header with groups");
    assert.ok(n > 300);
  } finally {
    await a.close();
  }
});

// Sliding-window layers keep their own KV group (kv/paged-cache.ts KVGroup): a session saves every
// block of the global group and only the window's blocks of the windowed one (format version 2).
test("a gemma3 session (global + windowed KV groups) restores and continues identically; --swa-full engines refuse it", async () => {
  const g = join(dir, "gemma3.gguf");
  await writeTestModel(g, {
    arch: "gemma3",
    nEmbd: 64,
    nLayer: 3,
    nHead: 4,
    nHeadKv: 2,
    headDim: 32,
    nFf: 96,
    nCtx: 256,
    nVocab: 400,
    ropeFreqBase: 1e6,
    swa: { window: 8, pattern: 3 },
    seed: 3,
  });
  const opts = { contextSize: 256, blockSize: 4, parallel: 1, threads: 1 } as const;
  const a = await loadLLM(g, opts);
  const b = await loadLLM(g, opts);
  const full = await loadLLM(g, { ...opts, swaFull: true });
  try {
    assert.deepEqual(
      a.engine.stats().kvGroups.map((k) => [k.window, k.layers]),
      [
        [0, 1],
        [8, 2],
      ],
    );
    const p = prompt(45, 5);
    const first = await a.complete(p, { ...greedy, maxTokens: 20 });
    const seq = [...p, ...first.choices[0].tokens];
    const bytes = a.exportSession(seq);
    const h = decodeSession(bytes).header;
    assert.deepEqual(
      h.groups.map((x) => [x.window, x.first]),
      [
        [0, 0],
        [8, Math.floor((h.nBlocks * 4 - 8 + 1) / 4)],
      ],
    );
    const more = [...seq, 11, 12, 13];
    const refA = await a.complete(more, { ...greedy, maxTokens: 12 });
    const restored = b.importSession(bytes);
    assert.equal(restored.restoredTokens, h.nBlocks * 4);
    const resumed = await b.complete(more, { ...greedy, maxTokens: 12 });
    assert.deepEqual(resumed.choices[0].tokens, refA.choices[0].tokens);
    assert.equal(resumed.usage.cachedTokens, restored.restoredTokens);
    assert.throws(
      () => full.importSession(bytes),
      (e: unknown) => e instanceof SessionError && e.code === "kv" && /groups/.test(e.message),
    );
  } finally {
    await a.close();
    await b.close();
    await full.close();
  }
});
