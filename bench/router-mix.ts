/**
 * Mixed routing workload: in-skill arithmetic, chitchat, out-of-skill questions and long prompts
 * sent one at a time to a local edgellm server with the router installed, in front of a cloud
 * tier. Prints the routing decision of every request class with the local/cloud share and
 * latency (Markdown tables).
 *   node <outDir>/bench/router-mix.js [--local file.gguf] [--cloud URL --cloud-model NAME]
 *                                     [--policy file.json] [--ctx 256] [--max-tokens 8] [--threads 1]
 * Without --cloud a second `edgellm serve` child on loopback is the cloud (a random-weight factory
 * model, id "cloud-model"); without --local the local model is a random-weight factory model too,
 * so its answers are noise and the arithmetic verifier rejects them: the table then shows routing
 * mechanics and overheads, not model quality. Point --local at the trained arithmetic model and
 * --cloud at a vLLM server for the real split.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AddressInfo } from "node:net";
import { writeTestModel } from "../src/model/factory/index.js";
import { loadLLM } from "../src/engine/llm.js";
import { buildServer } from "../src/server/app.js";
import { createRouter, loadPolicy, parsePolicy } from "../src/router/index.js";
import { installRouter } from "../src/server/index.js";
import { startServe, type Served } from "../test/server/serve-process.js";

const args = process.argv.slice(2);
const opt = (name: string, d?: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : d;
};
const ctx = Number(opt("--ctx", "256"));
const maxTokens = Number(opt("--max-tokens", "8"));
const threads = opt("--threads", "1")!;

// In skill for edgellm's default model (src/train/data: + and - up to 4 digits, small ×, greetings).
const ARITH = [
  "What is 4821 + 377?",
  "What is 903 - 458?",
  "Calculate 1250 + 2675.",
  "What is 7000 - 1234?",
  "What is 56 plus 78?",
  "Subtract 299 from 3406.",
  "What is 12 × 7?",
  "What is 2222 + 3333?",
];
const CHAT = ["Hello!", "Who are you?", "What can you do?", "Thanks"];
// Out of skill: general knowledge and writing, and arithmetic it was not trained on (÷, parentheses).
const OUT = [
  "Who wrote the novel War and Peace?",
  "Explain how photosynthesis works.",
  "Translate 'where is the train station' into German.",
  "Write a haiku about autumn rain.",
  "What is 144 / 12?",
  "What is (3 + 4) * 5?",
];
const LONG = Array.from(
  { length: 3 },
  (_, k) =>
    `Read this report and list its three main findings.\n\n${Array.from({ length: 16 }, (_, i) => `Section ${i + 1}: the measured value ${k * 100 + i} was within tolerance.`).join(" ")}`,
);

const dir = mkdtempSync(join(tmpdir(), "router-mix-"));
let cloud: Served | undefined;
try {
  const spec = {
    arch: "llama",
    nEmbd: 128,
    nLayer: 4,
    nHead: 4,
    nHeadKv: 2,
    nFf: 256,
    nCtx: 4096,
    nVocab: 600,
  } as const;
  let localPath = opt("--local");
  if (!localPath) {
    localPath = join(dir, "local.gguf");
    await writeTestModel(localPath, { ...spec, seed: 21 });
  }
  let cloudUrl = opt("--cloud");
  let cloudModel = opt("--cloud-model", "cloud-model")!;
  if (!cloudUrl) {
    const cloudPath = join(dir, "cloud.gguf");
    await writeTestModel(cloudPath, { ...spec, seed: 22 });
    cloud = await startServe(cloudPath, [
      "--threads",
      threads,
      "--ctx-size",
      "4096",
      "--model-id",
      "cloud-model",
      "--parallel",
      "2",
    ]);
    cloudUrl = `${cloud.url}/v1`;
    cloudModel = "cloud-model";
  }
  const pf = opt("--policy");
  const policy = pf
    ? await loadPolicy(pf)
    : parsePolicy({
        escalation: {
          verifiers: [{ type: "refusal" }, { type: "arithmetic" }, { type: "nonempty" }],
          agreement: { samples: 3, threshold: 0.67, temperature: 0.7 },
        },
        prices: { [cloudModel]: { inputPerMTok: 0.2, outputPerMTok: 0.6 } },
      });
  const llm = await loadLLM(localPath, { threads: Number(threads), contextSize: ctx, parallel: 4 });
  const server = buildServer(llm, { modelId: "local" });
  const router = createRouter(policy, {
    url: cloudUrl,
    model: cloudModel,
    apiKey: process.env.EDGELLM_CLOUD_API_KEY,
  });
  installRouter(server, router);
  await server.app.listen({ port: 0, host: "127.0.0.1" });
  const url = `http://127.0.0.1:${(server.app.server.address() as AddressInfo).port}`;

  type Row = {
    cls: string;
    route: string;
    reason: string;
    ms: number;
    failed: boolean;
    localMs?: number;
    cloudMs?: number;
  };
  const rows: Row[] = [];
  const work: [string, string[]][] = [
    ["arithmetic (in skill)", ARITH],
    ["chitchat (in skill)", CHAT],
    ["out-of-skill question", OUT],
    ["long prompt (> local ctx)", LONG],
  ];
  // Interleave the classes, as a real mix arrives.
  const queue: [string, string][] = [];
  for (let i = 0; i < 8; i++) for (const [cls, qs] of work) if (i < qs.length) queue.push([cls, qs[i]]);
  for (const [cls, q] of queue) {
    const t0 = performance.now();
    const r = await fetch(`${url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        model: "local",
        messages: [{ role: "user", content: q }],
        max_tokens: maxTokens,
        temperature: 0,
      }),
    });
    const j = (await r.json()) as {
      route?: {
        target: string;
        reason: string;
        escalation_failed?: boolean;
        timings_ms?: { local?: number; cloud?: number };
      };
    };
    const tm = j.route?.timings_ms;
    rows.push({
      cls,
      route: j.route?.target ?? `HTTP ${r.status}`,
      reason: j.route?.reason ?? "?",
      ms: performance.now() - t0,
      failed: j.route?.escalation_failed === true,
      localMs: tm?.local,
      cloudMs: tm?.cloud,
    });
  }
  await server.app.close();
  await llm.close();

  const pct = (a: number, b: number) => `${b ? Math.round((100 * a) / b) : 0}%`;
  const med = (xs: (number | undefined)[]) => {
    const v = xs.filter((x): x is number => x !== undefined).sort((a, b) => a - b);
    return v.length ? v[Math.floor(v.length / 2)].toFixed(0) : "-";
  };
  console.log(
    `router mix: local ${localPath.split("/").pop()} (ctx ${ctx}), cloud '${cloudModel}' at ${cloudUrl}, max_tokens ${maxTokens}, ${rows.length} requests sequential`,
  );
  console.log(
    "\n| request class | n | local | cloud | reasons | median ms, served local | median ms, served cloud | of which local answer + checks | of which cloud call |",
  );
  console.log("|---|---|---|---|---|---|---|---|---|");
  const line = (name: string, rs: Row[], reasons: string) => {
    const loc = rs.filter((r) => r.route === "local");
    const cl = rs.filter((r) => r.route === "cloud");
    console.log(
      `| ${name} | ${rs.length} | ${pct(loc.length, rs.length)} | ${pct(cl.length, rs.length)} | ${reasons} | ${med(loc.map((r) => r.ms))} | ${med(cl.map((r) => r.ms))} | ${med(cl.map((r) => r.localMs))} | ${med(cl.map((r) => r.cloudMs))} |`,
    );
  };
  for (const [cls] of work) {
    const rs = rows.filter((r) => r.cls === cls);
    const reasons = new Map<string, number>();
    for (const r of rs) {
      const k = `${r.route}/${r.reason}${r.failed ? " (cloud failed)" : ""}`;
      reasons.set(k, (reasons.get(k) ?? 0) + 1);
    }
    line(cls, rs, [...reasons].map(([k, v]) => `${k} x${v}`).join(", "));
  }
  line("**all**", rows, "");
} finally {
  await cloud?.stop();
  rmSync(dir, { recursive: true, force: true });
}
