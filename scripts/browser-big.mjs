// Issue 23's browser check (not in `npm test`): a model file above 4 GiB in headless Chromium.
// Writes the random llama with Llama-3.1-8B's shapes of scripts/big-8b.mjs (~4.7 GB, the file of
// scripts/big-model.mjs), serves it to a cross-origin-isolated page, which
// downloads it into OPFS (the model cache) and loads it in the engine worker with its layers
// streamed from OPFS through a FileSystemSyncAccessHandle under a memory budget, then generates
// greedily. Prints each phase's time, the placement and the tokens; with --node, also the same
// prompt in Node with the same placement (tokens to compare). The file (and the browser profile
// with its OPFS copy) are deleted afterwards unless --keep.
//
//   npm run build && node scripts/browser-big.mjs [--layers 32] [--max-memory 2G] [--tokens 3]
//     [--threads 2] [--out /tmp/edgellm-big-8b.gguf] [--keep] [--node] [--no-browser]
import { parseArgs } from "node:util";
import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { BIG_8B_PATH, BIG_8B_PROMPT, big8bSpec } from "./big-8b.mjs";

const ROOT = new URL("../", import.meta.url);
const dist = (p) => new URL(`dist/${p}`, ROOT).href;
const { writeTestModel } = await import(dist("src/model/factory/index.js"));
const { startWebServer } = await import(dist("src/cli/web.js"));
const { ISOLATION_HEADERS } = await import(dist("src/server/web-ui.js"));
const { CHROMIUM } = await import(dist("test/browser/chromium.js"));
const { parseByteSize } = await import(dist("src/cli/memory-options.js"));

const { values: a } = parseArgs({
  options: {
    layers: { type: "string", default: "32" },
    threads: { type: "string", default: "2" },
    tokens: { type: "string", default: "3" },
    "max-memory": { type: "string", default: "2G" },
    out: { type: "string", default: BIG_8B_PATH },
    keep: { type: "boolean", default: false },
    node: { type: "boolean", default: false },
    "no-browser": { type: "boolean", default: false },
  },
});
const gb = (n) => `${(n / 1e9).toFixed(2)} GB`;
const maxMemory = parseByteSize("--max-memory", a["max-memory"]);
const nGen = Number(a.tokens);
const threads = Number(a.threads);
const KV = { contextSize: 64, parallel: 1 };
const PROMPT = BIG_8B_PROMPT.slice(0, 4);
const spec = big8bSpec(Number(a.layers));

const path = a.out;
const profile = mkdtempSync(join(tmpdir(), "edgellm-chromium-"));
let web;
let ctx;
const t00 = performance.now();
const since = () => `${((performance.now() - t00) / 1000).toFixed(0)} s`;
try {
  if (!existsSync(path)) {
    await writeTestModel(path, spec);
    console.log(`[${since()}] wrote ${path}: ${gb(statSync(path).size)}`);
  }
  const size = statSync(path).size;
  console.log(`file ${gb(size)} (${size} bytes; 4 GiB = ${2 ** 32})`);
  if (!a["no-browser"]) await browserRun(size);
  if (a.node) {
    const { loadLLM } = await import(dist("src/engine/llm.js"));
    const t = performance.now();
    const llm = await loadLLM(path, { threads, maxMemory, weights: "stream", ...KV });
    console.log(`[${since()}] node: loaded in ${((performance.now() - t) / 1000).toFixed(0)} s`);
    const tokens = [];
    for await (const c of llm.generate(PROMPT, { maxTokens: nGen, ignoreEos: true, temperature: 0 }))
      if (c.type === "token") tokens.push(c.token);
    await llm.close();
    console.log(`[${since()}] node: tokens ${tokens.join(",")}`);
  }
} finally {
  await ctx?.close();
  await web?.close();
  rmSync(profile, { recursive: true, force: true });
  if (!a.keep) rmSync(path, { force: true });
}

async function browserRun() {
  web = await startWebServer({
    port: 0,
    modelsDir: dirname(path),
    intercept: (req, res) => {
      if (req.url !== "/blank.html") return false;
      res.writeHead(200, { "content-type": "text/html", ...ISOLATION_HEADERS }).end("<!doctype html>");
      return true;
    },
  });
  const { chromium } = await import("playwright-core");
  // a persistent profile on disk: OPFS lives there (and its quota follows the disk)
  ctx = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
  });
  const page = await ctx.newPage();
  page.on("console", (m) => console.log(`[${since()}] page: ${m.text()}`));
  await page.goto(`${web.url}blank.html`);
  const r = await page.evaluate(
    async ({ model, opts, prompt, nGen }) => {
      const { WorkerEngine } = await import("/edgellm-web.js");
      const est = await navigator.storage.estimate();
      console.log(`storage estimate: quota ${est.quota} bytes, usage ${est.usage}`);
      const w = new WorkerEngine("/engine-worker.js");
      let last = "";
      let t = performance.now();
      const phases = {};
      const info = await w.load({ kind: "url", url: `/models/${model}` }, (p) => {
        const pct = Math.floor(p.fraction * 10) * 10;
        const key = `${p.phase} ${pct}%`;
        if (key !== last) {
          last = key;
          console.log(`${key}${p.loaded ? ` ${p.loaded} of ${p.total} bytes` : ""}`);
        }
        phases[p.phase] ??= performance.now() - t;
      }, opts);
      const loadMs = performance.now() - t;
      t = performance.now();
      let done;
      for await (const ev of w.chat([], { tokens: prompt, maxTokens: nGen, ignoreEos: true })) {
        if (ev.type === "token") console.log(`token ${ev.token} at ${((performance.now() - t) / 1000).toFixed(1)} s`);
        else done = ev;
      }
      return { info, loadMs, phases, genMs: performance.now() - t, done };
    },
    { model: basename(path), opts: { threads, maxMemory, weights: "stream", ...KV }, prompt: PROMPT, nGen },
  ).catch((e) => ({ error: String(e?.message ?? e) }));
  console.log(`[${since()}] browser: ${JSON.stringify(r, null, 1)}`);
  if (r.done)
    console.log(
      `browser: tokens ${r.done.tokens.join(",")}; TTFT ${(r.done.ttftMs / 1000).toFixed(1)} s, decode ${((nGen - 1) / (r.done.decodeMs / 1000)).toFixed(3)} tok/s; ${(r.done.reads.bytesRead / 1e9).toFixed(2)} GB read from OPFS in ${r.done.reads.layerLoads} layer loads`,
    );
  await ctx.close();
  ctx = undefined;
}
