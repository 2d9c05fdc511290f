/**
 * CLI flags -> engine load options in one place (src/cli/engine-options.ts): every flag checked
 * with an InputError naming it, and every engine path of `run` honouring them. The regression:
 * `run --strategy` loaded the model with only --kernels/--threads, so --max-memory and --lora were
 * silently ignored and --threads was not checked (Number("abc") reached the kernels).
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeTestModel } from "../../src/model/factory/index.js";
import { engineOptions } from "../../src/cli/engine-options.js";
import { InputError } from "../../src/errors.js";
import { H2O, SnapKV, StreamingLLM } from "../../src/kv/eviction.js";
import { runCli } from "./helpers.js";

let dir: string;
let model: string;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), "engine-options-"));
  model = join(dir, "m.gguf");
  await writeTestModel(model, {
    arch: "llama",
    nEmbd: 64,
    nLayer: 2,
    nHead: 4,
    nFf: 128,
    nCtx: 256,
    seed: 3,
  });
});
after(() => rmSync(dir, { recursive: true, force: true }));

test("engineOptions: each flag mapped, each bad value an InputError naming the flag", () => {
  const o = engineOptions({
    kernels: "ts",
    threads: "2",
    maxMemory: "1.5G",
    ctxSize: "512",
    kvType: "q8_0",
    kvRotate: false,
    lora: ["a.gguf:0.5", "b.gguf"],
  });
  assert.deepEqual(o, {
    kernels: "ts",
    threads: 2,
    maxMemory: 1.5 * 2 ** 30,
    contextSize: 512,
    kvType: "q8_0",
    kvTypeV: "q8_0",
    kvRotate: false,
    lora: [
      { path: "a.gguf", scale: 0.5 },
      { path: "b.gguf", scale: 1 },
    ],
  });
  const bad: [object, RegExp][] = [
    [{ kernels: "gpu" }, /--kernels must be wasm or ts/],
    [{ threads: "abc" }, /--threads must be a positive integer/],
    [{ threads: "0" }, /--threads must be a positive integer/],
    [{ maxMemory: "lots" }, /--max-memory must be a size/],
    [{ ctxSize: "-1" }, /--ctx-size must be a positive integer/],
    [{ kvType: "q5" }, /--kv-type/],
    [{ lora: [""] }, /--lora needs a file/],
  ];
  for (const [flags, re] of bad)
    assert.throws(
      () => engineOptions(flags),
      (e: unknown) => e instanceof InputError && re.test(e.message),
      JSON.stringify(flags),
    );
});

// Each case runs `run --strategy ...`; before the fix all three loaded the model and answered.
const strategyRun = (...flags: string[]) =>
  runCli(["run", "-m", model, "-p", "2 + 3 = ?", "-n", "4", "--strategy", "greedy", ...flags], {
    timeoutMs: 120_000,
  });

test("run --strategy checks --threads before loading anything", async () => {
  const r = await strategyRun("--threads", "abc");
  assert.equal(r.code, 1, r.err);
  assert.match(r.err, /--threads must be a positive integer, got 'abc'/);
});

test("run --strategy honours --max-memory (a budget the model cannot fit is refused)", async () => {
  const r = await strategyRun("--max-memory", "64M");
  assert.equal(r.code, 1, r.err);
  assert.match(r.err, /memory budget/);
});

test("run --strategy loads --lora (a missing adapter file is an error naming it)", async () => {
  const missing = join(dir, "no-such-adapter.gguf");
  const r = await strategyRun("--lora", missing);
  assert.equal(r.code, 1, r.err);
  assert.ok(r.err.includes("no-such-adapter.gguf"), r.err);
});

test("--kv-evict / --kv-budget: a policy by name, each bad value an InputError naming the flag", () => {
  for (const [name, cls] of [
    ["streaming", StreamingLLM],
    ["h2o", H2O],
    ["snapkv", SnapKV],
  ] as const) {
    const e = engineOptions({ kvEvict: name, kvBudget: "64" }).eviction;
    assert.ok(e instanceof cls, name);
    assert.equal(e.budget, 64);
  }
  const bad: [object, RegExp][] = [
    [{ kvEvict: "lru", kvBudget: "64" }, /--kv-evict must be one of streaming, h2o, snapkv, got 'lru'/],
    [{ kvEvict: "snapkv" }, /--kv-evict needs --kv-budget <n>/],
    [{ kvBudget: "64" }, /--kv-budget needs --kv-evict <policy>/],
    [{ kvEvict: "h2o", kvBudget: "7" }, /--kv-budget must be an integer >= 8, got '7'/],
    [{ kvEvict: "h2o", kvBudget: "1e3" }, /--kv-budget must be an integer >= 8/],
  ];
  for (const [flags, re] of bad)
    assert.throws(
      () => engineOptions(flags),
      (e: unknown) => e instanceof InputError && re.test(e.message),
      JSON.stringify(flags),
    );
});

test("run --kv-evict snapkv --kv-budget 48: generates past the budget and says what was dropped", async () => {
  const r = await runCli(
    [
      "run",
      "-m",
      model,
      "--tokens",
      "5,6,7,8",
      "-n",
      "100",
      "--ignore-eos",
      "--kv-evict",
      "snapkv",
      "--kv-budget",
      "48",
    ],
    { timeoutMs: 120_000 },
  );
  assert.equal(r.code, 0, r.err);
  const m = /KV eviction snapkv \(budget 48\): (\d+) tokens dropped in (\d+) evictions/.exec(r.err);
  assert.ok(m && Number(m[1]) >= 104 - 48 && Number(m[2]) >= 1, r.err);
  const bad = await runCli(["run", "-m", model, "--tokens", "5,6", "--kv-evict", "lru", "--kv-budget", "48"]);
  assert.equal(bad.code, 1);
  assert.match(bad.err, /--kv-evict must be one of streaming, h2o, snapkv, got 'lru'/);
});
