// Test harness for routing: a real `edgellm serve` child process as the cloud (its own random
// factory model, model id "cloud-model") and an in-process local server (buildServer + the
// router hook) on a different random model, both on 127.0.0.1.
import { after, before } from "node:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AddressInfo } from "node:net";
import { writeTestModel } from "../../src/model/factory/index.js";
import { loadLLM, type LLM } from "../../src/engine/llm.js";
import { buildServer } from "../../src/server/app.js";
import { createRouter, parsePolicy, type Router } from "../../src/router/index.js";
import { installRouter } from "../../src/server/index.js";
import type { Verifier } from "../../src/verify/verifier.js";
import { startServe, type Served } from "../server/serve-process.js";

export const CLOUD_MODEL = "cloud-model";
export const LOCAL_MODEL = "local-model";
export const LOCAL_CTX = 128;

export interface Fixture {
  dir: string;
  localPath: string;
  cloudPath: string;
  cloud: Served;
  llm: LLM;
  close(): Promise<void>;
}

export async function setup(): Promise<Fixture> {
  const dir = mkdtempSync(join(tmpdir(), "router-"));
  const localPath = join(dir, "local.gguf");
  const cloudPath = join(dir, "cloud.gguf");
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
  await writeTestModel(localPath, { ...spec, seed: 3 });
  await writeTestModel(cloudPath, { ...spec, seed: 11 });
  const cloud = await startServe(cloudPath, [
    "--parallel",
    "4",
    "--ctx-size",
    "1024",
    "--threads",
    "1",
    "--model-id",
    CLOUD_MODEL,
  ]);
  const llm = await loadLLM(localPath, { kernels: "wasm", threads: 1, parallel: 8, contextSize: LOCAL_CTX });
  return {
    dir,
    localPath,
    cloudPath,
    cloud,
    llm,
    async close() {
      await cloud.stop();
      await llm.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface Local {
  url: string;
  router: Router;
  close(): Promise<void>;
}

/** A local server with the router installed; `cloudUrl` undefined = no cloud. */
export async function startLocal(
  llm: LLM,
  policyJson: unknown,
  cloudUrl: string | undefined,
  apiKey?: string,
  verifiers?: Verifier[],
): Promise<Local> {
  const server = buildServer(llm, { modelId: LOCAL_MODEL, apiKey });
  const router = createRouter(
    parsePolicy(policyJson, "test-policy"),
    cloudUrl ? { url: cloudUrl, model: CLOUD_MODEL } : undefined,
    undefined,
    verifiers,
  );
  installRouter(server, router);
  await server.app.listen({ port: 0, host: "127.0.0.1" });
  const port = (server.app.server.address() as AddressInfo).port;
  return { url: `http://127.0.0.1:${port}`, router, close: () => server.app.close() };
}

export const chat = (url: string, body: Record<string, unknown>, headers: Record<string, string> = {}) =>
  fetch(`${url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify({ model: LOCAL_MODEL, max_tokens: 6, temperature: 0, ...body }),
  });

export const user = (s: string) => [{ role: "user", content: s }];

/** Value of one series in a Prometheus text exposition (0 when absent). */
export async function metric(url: string, series: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  for (const line of text.split("\n"))
    if (line.startsWith(series + " ")) return Number(line.slice(series.length + 1));
  return 0;
}

/** Requests the cloud server has answered so far (its own counter). */
export const cloudRequests = (cloudUrl: string) =>
  metric(cloudUrl, 'edgellm_requests_total{endpoint="chat",status="200"}');

/**
 * A router test file's fixture: registers `before` (setup()) and `after` (every local server
 * started through `local` closed, then the fixture). `fx` is the fixture once `before` has run;
 * `local` starts the in-process server with a policy against `cloud` (default: the fixture's
 * real `edgellm serve` cloud).
 */
export function routerFixture(): {
  readonly fx: Fixture;
  local(policy: unknown, cloud?: string, apiKey?: string, verifiers?: Verifier[]): Promise<Local>;
} {
  let fx: Fixture | undefined;
  const open: Local[] = [];
  before(async () => {
    fx = await setup();
  });
  after(async () => {
    for (const l of open) await l.close();
    await fx?.close();
  });
  const fixture = (): Fixture => {
    if (!fx) throw new Error("the router fixture is set up in before()");
    return fx;
  };
  return {
    get fx(): Fixture {
      return fixture();
    },
    async local(policy, cloud = `${fixture().cloud.url}/v1`, apiKey, verifiers) {
      const l = await startLocal(fixture().llm, policy, cloud, apiKey, verifiers);
      open.push(l);
      return l;
    },
  };
}
