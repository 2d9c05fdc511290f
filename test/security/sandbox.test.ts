// Adversarial suite for the JavaScript sandbox (issue #14, finding 1): QuickJS compiled to wasm
// in worker threads (src/tools/builtin/sandbox-engine.ts, sandbox.ts). Every case here is a
// published escape (vm2 / node:vm advisories, see sandbox-corpus.ts), a resource bomb or a known
// QuickJS problem. On the old node:vm runner, 5 of the 30 escape cases reached the host (the
// issue's import() PoC, the error-generation primitive `e.name = Symbol()`, the Proxy toString of
// vm2's handleException, Promise @@species and a prepareStackTrace variant wrote the marker file),
// and the 8 x 256 MiB ArrayBuffer bomb took host RSS from 52 to 563 MB before the timer stopped it.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runSandboxed, type SandboxResult } from "../../src/tools/builtin/sandbox.js";
import { ESCAPES, pwnPrelude } from "./sandbox-corpus.js";

const dir = mkdtempSync(join(tmpdir(), "edgellm-sandbox-"));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

/** Runs code with the pwn() prelude; asserts nothing reached the host. */
async function holds(code: string, opts = { timeoutMs: 1000, memoryMb: 32 }): Promise<SandboxResult> {
  const marker = join(dir, `marker-${++n}`);
  const r = await runSandboxed(pwnPrelude(marker) + code, opts);
  const text = JSON.stringify(r);
  assert.ok(!existsSync(marker), `wrote a host file: ${text}`);
  assert.doesNotMatch(text, /ESCAPED:|root:/, text);
  assert.equal(typeof r.stdout, "string");
  if (!r.ok) assert.ok(r.errorKind && r.error, text);
  return r;
}

for (const c of ESCAPES) test(`escape corpus: ${c.name}`, async () => void (await holds(c.code)));

test("the issue's PoC, verbatim: no host error, no /etc/passwd", async () => {
  const r = await runSandboxed(
    "import('x').catch((e) => e.constructor.constructor('return process')().getBuiltinModule('fs').readFileSync('/etc/passwd','utf8').split('\\n')[0])",
  );
  assert.deepEqual(
    [r.ok, r.errorKind, r.error],
    [false, "exception", "ReferenceError: 'process' is not defined"],
  );
});

test("no capability exists in the guest: host globals, std/os, timers, WebAssembly, module loader", async () => {
  const r =
    await holds(`["std","os","process","require","module","Buffer","fetch","XMLHttpRequest","WebAssembly",
    "setTimeout","setInterval","setImmediate","queueMicrotask","scriptArgs","print","Deno","Bun","navigator","Atomics"]
    .filter((n) => typeof globalThis[n] !== "undefined").join(",")`);
  assert.deepEqual([r.ok, r.value], [true, ""]);
  const stat = await holds("import fs from 'fs'; fs");
  assert.equal(stat.ok, false); // no loader: a module import cannot even start
  const stack = await holds("new Error('x').stack");
  assert.ok(
    stack.ok && !stack.value!.includes(process.cwd()) && !/node:|file:/.test(stack.value!),
    stack.value,
  );
});

test("time limit: loops, promise jobs, finally blocks, getters run by the formatter, regex backtracking", async () => {
  for (const code of [
    "while (1) {}",
    "for (;;) {}",
    "Promise.resolve().then(() => { for (;;) {} }); 1",
    "(async () => { for (;;) await null; })()",
    "function f() { Promise.resolve().then(f); } f(); 1",
    "try { for (;;) {} } finally { for (;;) {} }",
    "try { for (;;) {} } catch (e) { 'caught' }",
    "({ toJSON() { for (;;) {} } })",
    "/^(?:[\\s\\S]|[\\s\\S]|[\\s\\S]|[\\s\\S]|[\\s\\S]|[\\s\\S]|[\\s\\S]|[\\s\\S])*Z/.test('a'.repeat(230))",
    "/(a*)*b/.test('a'.repeat(40))",
    "[3, 1, 2].sort(() => { for (;;) {} })",
  ]) {
    const t0 = Date.now();
    const r = await holds(code, { timeoutMs: 300, memoryMb: 32 });
    assert.deepEqual([r.ok, r.errorKind], [false, "timeout"], `${code}: ${JSON.stringify(r).slice(0, 300)}`);
    assert.match(r.error!, /killed: time limit 300 ms exceeded/);
    assert.ok(Date.now() - t0 < 5000, code);
  }
  // Native work that never polls the interrupt handler (QuickJS's JSON.stringify cycle check is
  // quadratic in the nesting depth): the worker is killed 1.25 s past the deadline — or, on a
  // machine fast enough to reach it first, QuickJS's own stack limit stops the recursion. Either
  // way the run ends, bounded, with a typed error.
  const t0 = Date.now();
  const nested = await holds("let o = {}; for (let i = 0; i < 100000; i++) o = { o }; JSON.stringify(o)", {
    timeoutMs: 300,
    memoryMb: 64,
  });
  assert.equal(nested.ok, false, JSON.stringify(nested));
  assert.ok(nested.errorKind === "timeout" || nested.errorKind === "stack", JSON.stringify(nested));
  assert.ok(Date.now() - t0 < 5000);
  // SharedArrayBuffer exists but Atomics (and so Atomics.wait) does not: nothing can block.
  const w = await holds("Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0)", {
    timeoutMs: 300,
    memoryMb: 32,
  });
  assert.deepEqual([w.ok, w.errorKind], [false, "exception"]);
});

test("stack limit: recursion, parser nesting, JSON nesting, proxy chains (QuickJS CVE-2023-31922)", async () => {
  for (const code of [
    "function f() { return f() + 1 } f()",
    "function f() { return [1].map(f) } f()",
    "eval('['.repeat(100000))",
    "eval('('.repeat(100000))",
    "JSON.parse('['.repeat(100000))",
    "let a = []; for (let i = 0; i < 100000; i++) a = [a]; String(a)",
    "let p = []; for (let i = 0; i < 100000; i++) p = new Proxy(p, {}); Array.isArray(p)",
    "let p = {}; for (let i = 0; i < 100000; i++) p = new Proxy(p, {}); p.x",
  ]) {
    const r = await holds(code, { timeoutMs: 2000, memoryMb: 64 });
    assert.deepEqual([r.ok, r.errorKind], [false, "stack"], `${code}: ${JSON.stringify(r).slice(0, 300)}`);
  }
  // Caught stack overflow: the run goes on.
  const caught = await holds("function f() { return f() } try { f() } catch (e) { e.message }");
  assert.deepEqual([caught.ok, caught.value], [true, "stack overflow"]);
});

test("memory limit: strings, arrays, objects, ArrayBuffers all count", async () => {
  for (const code of [
    "'x'.repeat(2 ** 28)",
    "const a = []; for (;;) a.push('x'.repeat(1 << 20) + a.length)",
    "const a = []; for (;;) a.push(new Array(1e5).fill(1.5))",
    "const a = []; for (;;) a.push({ x: a.length })",
    "const a = []; for (;;) a.push(new ArrayBuffer(1 << 20))",
    "const a = []; for (;;) a.push(new Float64Array(1 << 16))",
    "const a = []; for (;;) a.push(new SharedArrayBuffer(1 << 20))",
  ]) {
    const r = await holds(code, { timeoutMs: 10_000, memoryMb: 32 });
    assert.deepEqual([r.ok, r.errorKind], [false, "memory"], `${code}: ${JSON.stringify(r).slice(0, 300)}`);
    assert.match(r.error!, /killed: memory limit 32 MiB exceeded/);
  }
  // Doubling a string stops at QuickJS's string length limit (ropes defer the copy).
  const dbl = await holds("let s = 'x'; for (;;) s += s", { timeoutMs: 10_000, memoryMb: 32 });
  assert.ok(!dbl.ok && /memory|exception/.test(dbl.errorKind!), JSON.stringify(dbl));
  // Out of memory is an ordinary exception inside the guest (it may catch it); the cap holds.
  const caught = await holds(
    "const a = []; let n = 0; try { for (;;) { a.push(new ArrayBuffer(1 << 20)); n++; } } catch (e) { a.length = 0; n }",
  );
  assert.ok(caught.ok && Number(caught.value) < 48, JSON.stringify(caught));
});

async function peakRss(run: () => Promise<unknown>): Promise<{ before: number; peak: number }> {
  const before = process.memoryUsage().rss;
  let peak = before;
  const iv = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
  try {
    await run();
  } finally {
    clearInterval(iv);
  }
  return { before, peak: Math.max(peak, process.memoryUsage().rss) };
}

test("memory bomb: 8 x 256 MiB ArrayBuffers and a 1 MiB-step bomb keep host RSS under the limit", async () => {
  await runSandboxed("1"); // a warm worker: its start-up is not charged to the bomb
  const mb = 64;
  for (const code of [
    "const a = []; for (let i = 0; i < 8; i++) { const b = new ArrayBuffer(256 * 1024 * 1024); new Uint8Array(b).fill(1); a.push(b); } a.length",
    "const a = []; for (let i = 0; i < 2048; i++) { const b = new Uint8Array(1 << 20); b.fill(1); a.push(b); } a.length",
  ]) {
    let r: SandboxResult | undefined;
    const { before, peak } = await peakRss(
      async () => (r = await runSandboxed(code, { timeoutMs: 10_000, memoryMb: mb })),
    );
    const grew = (peak - before) / 2 ** 20;
    console.log(
      `# memory bomb: rss ${(before / 2 ** 20).toFixed(0)} -> peak ${(peak / 2 ** 20).toFixed(0)} MB (+${grew.toFixed(0)}); ${r!.error}`,
    );
    assert.deepEqual([r!.ok, r!.errorKind], [false, "memory"], JSON.stringify(r));
    // The engine's memory is capped at memoryMb + 16 MiB; 48 MiB margin for the worker's own heap.
    assert.ok(grew < mb + 16 + 48, `host RSS grew ${grew.toFixed(0)} MB`);
  }
});

test("QuickJS known issues: detaching and resizing inside callbacks, async generators, recovery", async () => {
  for (const code of [
    "const b = new ArrayBuffer(64); const t = new Uint32Array(b); t.sort(() => { b.transfer && b.transfer(); return 0; }); t.length",
    "const b = new ArrayBuffer(64); const t = new Uint8Array(b); t.lastIndexOf(0, { valueOf() { b.transfer && b.transfer(); return 63; } })",
    "const b = new ArrayBuffer(64, { maxByteLength: 128 }); const t = new Uint8Array(b); t.fill({ valueOf() { b.resize && b.resize(0); return 1; } }); t.length",
    "const a = [1, 2, 3, 4]; a.copyWithin({ valueOf() { a.length = 0; return 0; } }, 1); a",
    "const a = [1, 2, 3]; a.sort(() => { a.length = 0; return 0; }); a",
    "async function* g() { try { yield 1; } finally { yield 2; } } const it = g(); it.next(); it.return(); it.throw(1); 'ok'",
    "const r = new FinalizationRegistry(() => { for (;;) {} }); for (let i = 0; i < 1e4; i++) r.register({}, i); 'ok'",
    "Object.defineProperty(Array.prototype, '0', { set() { throw 1; } }); console.log('still'); [].concat([1])",
  ]) {
    const r = await holds(code, { timeoutMs: 1000, memoryMb: 32 });
    if (!r.ok)
      assert.ok(
        ["exception", "timeout"].includes(r.errorKind!),
        `${code}: ${JSON.stringify(r).slice(0, 300)}`,
      );
  }
  // After every fault above (and the bombs), a fresh run sees a working, pristine engine.
  const fresh = await runSandboxed("[typeof Array.prototype[0], Object.keys(globalThis).length, 6 * 7]");
  assert.deepEqual([fresh.ok, fresh.value], [true, '["undefined",1,42]']);
});

test("a run does not block the host's event loop", async () => {
  let ticks = 0;
  const iv = setInterval(() => ticks++, 10);
  const r = await runSandboxed("while (1) {}", { timeoutMs: 500 });
  clearInterval(iv);
  assert.equal(r.errorKind, "timeout");
  assert.ok(ticks >= 10, `only ${ticks} ticks during a 500 ms run`);
});
