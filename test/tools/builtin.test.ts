import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, mkdirSync, symlinkSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { InputError } from "../../src/errors.js";
import { evaluate, calculatorTool } from "../../src/tools/builtin/calculator.js";
import { runSandboxed, codeRunnerTool } from "../../src/tools/builtin/sandbox.js";
import { SandboxedDir, fileTools } from "../../src/tools/builtin/files.js";
import { ToolSet } from "../../src/tools/registry.js";

test("calculator: precedence, associativity, functions, errors", () => {
  const cases: [string, number][] = [
    ["1 + 2 * 3", 7],
    ["(1 + 2) * 3", 9],
    ["2 ^ 3 ^ 2", 512],
    ["-2 ^ 2", -4],
    ["2 ** -1", 0.5],
    ["10 % 4 - -3", 5],
    ["sqrt(16) + max(1, 7, 3) / 7", 5],
    ["pi * 2 - tau", 0],
    [".5e1 + 1.5E-1", 5.15],
    ["log(1000) + ln(e)", 4],
  ];
  for (const [s, v] of cases) assert.ok(Math.abs(evaluate(s) - v) < 1e-12, `${s} = ${evaluate(s)}`);
  for (const bad of [
    "",
    "1 +",
    "2 * (3",
    "foo(2)",
    "1 / 0",
    "process.exit(1)",
    "1 2",
    "sqrt(-1)",
    "10^400",
    "(".repeat(500) + "1" + ")".repeat(500),
  ]) {
    assert.throws(() => evaluate(bad), InputError, bad);
  }
});

test("sandbox runs code and returns console output and value", async () => {
  const r = await runSandboxed(
    "console.log('hi', {a: [1, 2]}); const xs = [3, 1, 2].sort(); xs.map((x) => x * 2)",
  );
  assert.deepEqual(r, { ok: true, stdout: 'hi {"a":[1,2]}', value: "[2,4,6]", error: undefined });
  const t = new ToolSet([codeRunnerTool(), calculatorTool]);
  assert.equal(
    await t.call({
      id: "1",
      type: "function",
      function: { name: "run_javascript", arguments: '{"code": "6 * 7"}' },
    }),
    "=> 42",
  );
  assert.equal(
    await t.call({
      id: "2",
      type: "function",
      function: { name: "calculator", arguments: '{"expression": "6 * 7"}' },
    }),
    "42",
  );
});

test("sandbox escape attempts fail safely", async () => {
  // The guest is QuickJS in wasm: host names do not exist there, and the Function constructor
  // (reachable from any object) only compiles guest code. The full corpus is test/security/.
  const attempts: [string, RegExp, string][] = [
    ["require('fs').readFileSync('/etc/passwd', 'utf8')", /'require' is not defined/, "exception"],
    ["process.env", /'process' is not defined/, "exception"],
    ["fetch('http://127.0.0.1:1/')", /'fetch' is not defined/, "exception"],
    ["this.constructor.constructor('return process')()", /'process' is not defined/, "exception"],
    ["({}).constructor.constructor('return globalThis.process')().exit(1)", /undefined/, "exception"],
    ["eval('process')", /'process' is not defined/, "exception"],
    [
      "import('node:fs').then((m) => m.readFileSync('/etc/passwd', 'utf8'))",
      /could not load module/,
      "exception",
    ],
    ["new Promise(() => {})", /did not settle/, "unsettled"],
    ["Promise.reject(new Error('nope'))", /nope/, "exception"],
    [
      "new WebAssembly.Module(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]))",
      /'WebAssembly' is not defined/,
      "exception",
    ],
    ["setTimeout(() => {}, 1)", /'setTimeout' is not defined/, "exception"],
    ["function (", /SyntaxError/, "syntax"],
    ["while (true) {}", /killed: time limit 500 ms/, "timeout"],
    ["(async () => { for (;;) {} })()", /killed: time limit/, "timeout"],
    ["const a = []; for (;;) a.push(new Array(1e6).fill(1.5));", /killed: memory limit 32 MiB/, "memory"],
    ["function f() { return f() + 1 } f()", /call stack/, "stack"],
  ];
  for (const [code, re, kind] of attempts) {
    const r = await runSandboxed(code, { timeoutMs: 500, memoryMb: 32 });
    assert.equal(r.ok, false, `${code} -> ${JSON.stringify(r)}`);
    assert.match(r.error ?? "", re, code);
    assert.equal(r.errorKind, kind, code);
  }
  // eval works, but only inside the guest.
  assert.equal((await runSandboxed("eval('1 + 1')")).value, "2");
});

test("prototype tampering stays inside the sandbox run", async () => {
  const r = await runSandboxed(
    "Object.prototype.polluted = 1; Array.prototype.map = null; JSON.stringify = () => 'x'; 'done'",
  );
  assert.equal(r.ok, true);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.equal(typeof [].map, "function");
  assert.equal(JSON.stringify({ a: 1 }), '{"a":1}');
  const next = await runSandboxed("[1, 2].map((x) => x + ({}).polluted)");
  // A fresh run sees pristine built-ins: map works and ({}).polluted is undefined (1 + undefined = NaN -> null in JSON).
  assert.equal(next.value, "[null,null]");
  const r2 = await runSandboxed("console.log([1].join('-')); 5", {});
  assert.deepEqual([r2.stdout, r2.value], ["1", "5"]);
});

test("file tools stay inside their directory (.., absolute paths, symlinks)", async () => {
  const base = mkdtempSync(join(tmpdir(), "edgellm-files-"));
  try {
    const root = join(base, "root");
    mkdirSync(join(root, "sub"), { recursive: true });
    writeFileSync(join(root, "a.txt"), "alpha");
    writeFileSync(join(root, "sub", "b.txt"), "beta");
    writeFileSync(join(base, "secret.txt"), "secret");
    symlinkSync(join(base, "secret.txt"), join(root, "link-out"));
    symlinkSync(join(root, "a.txt"), join(root, "link-in"));
    symlinkSync(base, join(root, "sub", "dir-out"));
    const d = new SandboxedDir(root);
    assert.equal(await d.readFile("a.txt"), "alpha");
    assert.equal(await d.readFile("sub/../sub/b.txt"), "beta");
    assert.equal(await d.readFile("link-in"), "alpha");
    assert.deepEqual(await d.listDir("."), ["a.txt", "link-in@", "link-out@", "sub/"]);
    for (const p of [
      "../secret.txt",
      join(base, "secret.txt"),
      "link-out",
      "sub/dir-out/secret.txt",
      "sub/dir-out",
      "/etc/passwd",
      "a.txt\0",
      "missing.txt",
    ]) {
      await assert.rejects(d.readFile(p), InputError, p);
    }
    await assert.rejects(d.listDir(".."), InputError);
    await assert.rejects(d.readFile("sub"), /not a file/);
    const t = new ToolSet(fileTools(root));
    const out = await t.call({
      id: "1",
      type: "function",
      function: { name: "read_file", arguments: '{"path": "../secret.txt"}' },
    });
    assert.match(out, /^error: .*outside the tool directory/);
    assert.throws(() => new SandboxedDir(join(base, "nope")), InputError);
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});
