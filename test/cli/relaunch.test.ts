/**
 * Relaxed SIMD with no flag from the user (src/cli/relaunch.ts): the CLI, spawned on this Node
 * without --experimental-wasm-relaxed-simd, reports "kernels: relaxed SIMD" (Node 20: through a
 * relaunched child; Node >= 22: in process); EDGELLM_SIMD=simd128 keeps SIMD128; the parent
 * passes on the child's exit code and forwards SIGTERM (a served port stops answering).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { promisify } from "node:util";
import { fileURLToPath } from "node:url";
import { engineHasRelaxedSimd, relaunchPlan } from "../../src/cli/relaunch.js";

const run = promisify(execFile);
const MAIN = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));
const ENV = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  delete env.EDGELLM_SIMD;
  delete env.EDGELLM_RELAUNCHED;
  delete env.EDGELLM_NO_RELAUNCH;
  delete env.NODE_TEST_CONTEXT;
  return { ...env, ...extra };
};

test("relaunch plan: only without engine support, never twice, not when simd128 is asked for", () => {
  const plan = relaunchPlan(ENV());
  if (engineHasRelaxedSimd()) assert.equal(plan, null);
  else {
    assert.ok(plan);
    assert.ok(plan.includes("--experimental-wasm-relaxed-simd") && plan.includes("--no-liftoff"));
  }
  assert.equal(relaunchPlan(ENV({ EDGELLM_RELAUNCHED: "1" })), null);
  assert.equal(relaunchPlan(ENV({ EDGELLM_SIMD: "simd128" })), null);
  assert.equal(relaunchPlan(ENV({ EDGELLM_NO_RELAUNCH: "1" })), null);
});

test("the CLI with no V8 flag runs the relaxed-SIMD kernels (speed summary)", async () => {
  const { stderr } = await run(process.execPath, [MAIN, "run", "-p", "1+1=", "-n", "2", "--threads", "1"], {
    env: ENV(),
  });
  assert.match(stderr, /kernels: relaxed SIMD x1/);
});

test("EDGELLM_SIMD=simd128 keeps the SIMD128 kernels", async () => {
  const { stderr } = await run(process.execPath, [MAIN, "run", "-p", "1+1=", "-n", "2", "--threads", "1"], {
    env: ENV({ EDGELLM_SIMD: "simd128" }),
  });
  assert.match(stderr, /kernels: SIMD128 x1/);
});

test("the child's exit code comes back through the relaunch", async () => {
  const codeOf = (env: NodeJS.ProcessEnv) =>
    run(process.execPath, [MAIN, "run", "-m", "/nonexistent/model.gguf", "-p", "x"], { env }).then(
      () => 0,
      (e: { code: number }) => e.code,
    );
  const direct = await codeOf(ENV({ EDGELLM_NO_RELAUNCH: "1" }));
  assert.notEqual(direct, 0);
  assert.equal(await codeOf(ENV()), direct);
});

test("SIGTERM to the parent stops the relaunched server", async () => {
  const proc = spawn(process.execPath, [MAIN, "serve", "--port", "0", "--threads", "1"], {
    env: ENV(),
    stdio: ["ignore", "pipe", "pipe"],
  });
  const exited = new Promise<[number | null, string | null]>((r) => proc.on("exit", (c, s) => r([c, s])));
  const url = await new Promise<string>((resolve, reject) => {
    let out = "";
    const t = setTimeout(() => reject(new Error("serve did not start")), 30000);
    proc.stdout!.on("data", (d) => {
      out += d;
      const m = /on (http:\/\/[^\s/]+)\/v1/.exec(out);
      if (m) {
        clearTimeout(t);
        resolve(m[1]!);
      }
    });
  });
  assert.ok((await fetch(`${url}/v1/models`)).ok);
  proc.kill("SIGTERM");
  const [code, signal] = await exited;
  assert.ok(signal === "SIGTERM" || code !== null, `exit ${code} ${signal}`);
  await assert.rejects(fetch(`${url}/v1/models`, { signal: AbortSignal.timeout(3000) }));
});
