/**
 * Relaxed SIMD with no flag from the user (src/platform/relaxed-simd-node.ts): the CLI, spawned on
 * this Node without --experimental-wasm-relaxed-simd, reports "kernels: relaxed SIMD" (Node 20: V8
 * flags switched on in-process; Node >= 22: the default); EDGELLM_SIMD=simd128 keeps SIMD128; the
 * served process is the one that was spawned (SIGSTOP stops it answering: no wrapper process).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { promisify } from "node:util";
import { fileURLToPath } from "node:url";
import { enableRelaxedSimd } from "../../src/platform/relaxed-simd-node.js";

const run = promisify(execFile);
const MAIN = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));
const ENV = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  delete env.EDGELLM_SIMD;
  delete env.NODE_TEST_CONTEXT;
  return { ...env, ...extra };
};

test("enableRelaxedSimd: the engine validates relaxed SIMD afterwards, not when simd128 is asked for", () => {
  assert.equal(enableRelaxedSimd({ EDGELLM_SIMD: "simd128" }), false);
  assert.equal(enableRelaxedSimd({}), true);
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

test("the spawned process is the server: SIGSTOP stops it answering, SIGCONT resumes, SIGTERM ends it", async () => {
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
  proc.kill("SIGSTOP");
  await assert.rejects(fetch(`${url}/v1/models`, { signal: AbortSignal.timeout(1500) }));
  proc.kill("SIGCONT");
  assert.ok((await fetch(`${url}/v1/models`, { signal: AbortSignal.timeout(10000) })).ok);
  proc.kill("SIGTERM");
  const [code, signal] = await exited;
  assert.ok(signal === "SIGTERM" || code !== null, `exit ${code} ${signal}`);
  await assert.rejects(fetch(`${url}/v1/models`, { signal: AbortSignal.timeout(3000) }));
});
