// LoRA over HTTP: a real `edgellm serve --lora a.gguf:0 --lora-dir <dir>` child process.
// GET/POST /lora-adapters need the API key; the request field `lora: [{id, scale}]` (llama-server's
// shape, id by name or index) picks adapters per request, an unknown id is a 400 naming it;
// concurrent requests under different adapters equal each alone; load / rescale / unload at
// runtime; loading is confined to --lora-dir; /metrics counts adapter bytes; `run --lora` too.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { fileURLToPath } from "node:url";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeTestModel, type TestModelSpec } from "../../src/model/factory/index.js";
import { writeTestAdapter } from "../../src/model/factory/lora.js";
import { startServe, type Served } from "./serve-process.js";

const KEY = "k";
const dir = mkdtempSync(join(tmpdir(), "serve-lora-"));
const loraDir = join(dir, "adapters");
const spec: TestModelSpec = {
  arch: "llama",
  nEmbd: 64,
  nLayer: 2,
  nHead: 4,
  nHeadKv: 2,
  nFf: 96,
  nCtx: 256,
  nVocab: 600,
  seed: 9,
};
let srv: Served;

before(async () => {
  mkdirSync(loraDir);
  await writeTestModel(join(dir, "m.gguf"), spec);
  await writeTestAdapter(join(dir, "a.gguf"), spec, { rank: 8, alpha: 16, seed: 1, stdB: 0.3 });
  await writeTestAdapter(join(loraDir, "b.gguf"), spec, {
    rank: 4,
    alpha: 8,
    seed: 2,
    stdB: 0.3,
    targets: ["attn_v", "ffn_down", "output"],
  });
  await writeTestAdapter(join(loraDir, "wrong.gguf"), { ...spec, nFf: 128 }, { rank: 4 });
  srv = await startServe(join(dir, "m.gguf"), [
    "--api-key",
    KEY,
    "--parallel",
    "4",
    "--ctx-size",
    "128",
    "--threads",
    "1",
    "--model-id",
    "t",
    "--lora",
    `${join(dir, "a.gguf")}:0`,
    "--lora-dir",
    loraDir,
  ]);
});
after(async () => {
  await srv?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const call = async (method: string, path: string, body?: unknown, key: string | null = KEY) => {
  const r = await fetch(`${srv.url}${path}`, {
    method,
    headers: { "content-type": "application/json", ...(key ? { authorization: `Bearer ${key}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: r.status, json: (await r.json()) as any };
};
const complete = async (lora?: unknown) => {
  const r = await call("POST", "/v1/completions", {
    model: "t",
    prompt: "hello there, general",
    max_tokens: 8,
    temperature: 0,
    ignore_eos: true,
    ...(lora === undefined ? {} : { lora }),
  });
  assert.equal(r.status, 200, JSON.stringify(r.json));
  return r.json.choices[0].text as string;
};

test("/lora-adapters needs the key; lists, loads from --lora-dir only, rescales, unloads", async () => {
  assert.equal((await call("GET", "/lora-adapters", undefined, null)).status, 401);
  assert.equal((await call("POST", "/lora-adapters", [], null)).status, 401);
  let r = await call("GET", "/lora-adapters");
  assert.equal(r.status, 200);
  assert.deepEqual(
    r.json.map((a: any) => [a.id, a.index, a.scale]),
    [["a", 0, 0]],
  );
  assert.ok(r.json[0].bytes > 0);
  // Loading: only inside --lora-dir, only adapters that fit the base.
  for (const path of ["../a.gguf", join(dir, "a.gguf"), "nope.gguf"]) {
    r = await call("POST", "/lora-adapters", { load: { path } });
    assert.ok(r.status === 400 || r.status === 404, `${path}: ${r.status}`);
  }
  // Bad shapes: a 400 naming the offending path.
  for (const [body, param] of [
    [[{ id: "a", scale: "high" }], "lora[0].scale"],
    [{ unload: true }, "unload"],
    [{ load: { path: "b.gguf", scale: "x" } }, "load.scale"],
    [{ load: { path: "b.gguf", id: 7 } }, "load.id"],
  ] as const) {
    r = await call("POST", "/lora-adapters", body);
    assert.equal(r.status, 400, JSON.stringify(body));
    assert.equal(r.json.error.param, param, JSON.stringify(body));
  }
  r = await call("POST", "/lora-adapters", { load: { path: "wrong.gguf" } });
  assert.equal(r.status, 400);
  assert.match(r.json.error.message, /ffn_(gate|up|down)/);
  r = await call("POST", "/lora-adapters", { load: { path: "b.gguf", id: "b", scale: 0 } });
  assert.equal(r.status, 200, JSON.stringify(r.json));
  assert.deepEqual(
    r.json.map((a: any) => a.id),
    ["a", "b"],
  );
  r = await call("POST", "/lora-adapters", [{ id: 1, scale: 0.5 }]);
  assert.deepEqual(
    r.json.map((a: any) => a.scale),
    [0, 0.5],
  );
  const m = await fetch(`${srv.url}/metrics`, { headers: { authorization: `Bearer ${KEY}` } }).then((x) =>
    x.text(),
  );
  assert.match(m, /edgellm_lora_adapters 2/);
  assert.match(m, /edgellm_lora_adapter_bytes [1-9]/);
});

test("per-request lora: unknown id is a 400 naming it; concurrent adapters equal each alone; unload", async () => {
  const bad = await call("POST", "/v1/chat/completions", {
    model: "t",
    messages: [{ role: "user", content: "x" }],
    lora: [{ id: "zzz", scale: 1 }],
  });
  assert.equal(bad.status, 400);
  assert.equal(bad.json.error.param, "lora");
  assert.match(bad.json.error.message, /'zzz'/);
  assert.equal(
    (await call("POST", "/v1/completions", { model: "t", prompt: "x", lora: [{ id: 7 }] })).status,
    400,
  );
  assert.equal(
    (await call("POST", "/v1/completions", { model: "t", prompt: "x", lora: { id: "a" } })).status,
    400,
  );
  const sets = [
    [],
    [{ id: "a", scale: 1 }],
    [{ id: "b" }],
    [
      { id: 0, scale: 0.5 },
      { id: "b", scale: -1 },
    ],
  ];
  const alone: string[] = [];
  for (const s of sets) alone.push(await complete(s));
  assert.notEqual(alone[1], alone[0]);
  assert.notEqual(alone[2], alone[1]);
  // No lora field: default scales (a at 0 = off, b at 0.5) = [{id: "b"}].
  assert.equal(await complete(undefined), alone[2]);
  const together = await Promise.all(sets.map((s) => complete(s)));
  assert.deepEqual(together, alone);
  assert.equal((await call("POST", "/lora-adapters", { unload: "b" })).status, 200);
  assert.equal(
    (await call("POST", "/v1/completions", { model: "t", prompt: "x", lora: [{ id: "b" }] })).status,
    400,
  );
});

test("run --lora file:scale changes the greedy continuation; :0 equals the base", async () => {
  const MAIN = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));
  const run = async (extra: string[]) =>
    (
      await promisify(execFile)(process.execPath, [
        MAIN,
        "run",
        "-m",
        join(dir, "m.gguf"),
        "--tokens",
        "1,5,9,22",
        "-n",
        "8",
        "--kernels",
        "ts",
        ...extra,
      ])
    ).stdout.trim();
  const base = await run([]);
  assert.equal(await run(["--lora", `${join(dir, "a.gguf")}:0`]), base);
  assert.notEqual(await run(["--lora", join(dir, "a.gguf")]), base);
});
