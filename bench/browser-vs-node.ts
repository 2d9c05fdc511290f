/**
 * Decode speed in headless Chromium against Node, one run, same GGUF, same thread count, same
 * greedy tokens. The browser side is the real in-browser engine: the page served by `edgellm web`
 * (cross-origin isolated, so the kernel threads are nested workers over shared WASM memory) loads
 * the model from that local static server by HTTP Range requests, tensor by tensor into WASM
 * memory (no OPFS copy), and generates in its Web Worker; Node loads the same file with loadLLM.
 * Both sides take the same token prompt, ignore EOS, and report decode tok/s from the engine's
 * own first-to-last-token time; runs alternate (node, browser, node, ...) and medians are printed
 * with the load average before and after.
 *   node dist/bench/browser-vs-node.js [model.gguf] [threads=2] [gen=64] [repeats=3] [prompt=16]
 */
import { availableParallelism, loadavg } from "node:os";
import { basename, dirname } from "node:path";
import { loadLLM } from "../src/engine/llm.js";
import { enableRelaxedSimd } from "../src/platform/relaxed-simd-node.js";
import { startWebServer } from "../src/cli/web.js";
import type { FromWorker, ModelInfo } from "../src/web/protocol.js";
import { launch } from "../test/browser/chromium.js";

const [model = "/work/bench-models/m850-q4_0.gguf", thr = "2", ng = "64", nr = "3", np = "16"] =
  process.argv.slice(2);
const threads = Number(thr);
const gen = Number(ng);
const repeats = Number(nr);
const prompt = Array.from({ length: Number(np) }, (_, i) => 300 + ((i * 37) % 1000));

interface Run {
  tokS: number;
  tokens: number[];
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const la = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(" ");

enableRelaxedSimd();
const loadBefore = la();

// Node side.
let t0 = performance.now();
const llm = await loadLLM(model, { threads });
const nodeLoadMs = performance.now() - t0;
async function nodeRun(): Promise<Run> {
  const tokens: number[] = [];
  for await (const c of llm.generate(prompt, { maxTokens: gen, temperature: 0, ignoreEos: true })) {
    if (c.type === "token") tokens.push(c.token);
    else return { tokS: ((c.completionTokens - 1) * 1000) / c.decodeMs, tokens };
  }
  throw new Error("no done chunk");
}

// Browser side: the engine worker of the `edgellm web` page, driven through its message protocol.
const web = await startWebServer({ port: 0, modelsDir: dirname(model) });
const browser = await launch();
const browserVersion = browser.version();
const page = await (await browser.newContext()).newPage();
page.on("console", (m) => {
  if (m.type() === "warning" || m.type() === "error") console.error(`[page] ${m.text()}`);
});
await page.goto(`${web.url}?autoload=0`);
t0 = performance.now();
const info = await page.evaluate(
  ({ url, threads }) =>
    new Promise<ModelInfo>((resolve, reject) => {
      const w = new Worker("./engine-worker.js", { type: "module" });
      (globalThis as unknown as { benchWorker: Worker }).benchWorker = w;
      w.onmessage = (e: MessageEvent<FromWorker>) => {
        if (e.data.type === "loaded") resolve(e.data.info);
        else if (e.data.type === "error") reject(new Error(e.data.error.message));
      };
      w.postMessage({ type: "load", source: { kind: "url", url, cache: false }, threads });
    }),
  { url: `models/${basename(model)}`, threads },
);
const browserLoadMs = performance.now() - t0;
const ranges = web.log.filter((r) => r.url.endsWith(".gguf") && r.range).length;
let nextId = 1;
async function browserRun(): Promise<Run> {
  return page.evaluate(
    ({ id, tokens, gen }) =>
      new Promise<Run>((resolve, reject) => {
        const w = (globalThis as unknown as { benchWorker: Worker }).benchWorker;
        const out: number[] = [];
        w.onmessage = (e: MessageEvent<FromWorker>) => {
          const m = e.data;
          if (m.type === "token" && m.id === id) out.push(m.token);
          else if (m.type === "done" && m.id === id)
            resolve({ tokS: ((m.completionTokens - 1) * 1000) / m.decodeMs, tokens: out });
          else if (m.type === "error") reject(new Error(m.error.message));
        };
        w.postMessage({
          type: "chat",
          id,
          messages: [],
          tokens,
          maxTokens: gen,
          temperature: 0,
          ignoreEos: true,
        });
      }),
    { id: nextId++, tokens: prompt, gen },
  );
}

const nodeRuns: Run[] = [];
const webRuns: Run[] = [];
try {
  // one warm-up each (JIT, page faults), not counted
  await nodeRun();
  await browserRun();
  for (let i = 0; i < repeats; i++) {
    nodeRuns.push(await nodeRun());
    webRuns.push(await browserRun());
    console.error(
      `[${i + 1}/${repeats}] node ${nodeRuns[i]!.tokS.toFixed(2)} tok/s, chromium ${webRuns[i]!.tokS.toFixed(2)} tok/s`,
    );
  }
} finally {
  await browser.close();
  await web.close();
  await llm.close();
}

const same = webRuns.every((r) => r.tokens.join() === nodeRuns[0]!.tokens.join());
const n = median(nodeRuns.map((r) => r.tokS));
const b = median(webRuns.map((r) => r.tokS));
console.log(
  `model    ${model} (${basename(model)}), ${threads} threads, prompt ${prompt.length} tokens, ${gen} generated (EOS ignored), median of ${repeats}`,
);
console.log(
  `machine  ${availableParallelism()} cores, load average ${loadBefore} before, ${la()} after; Node ${process.version}, Chromium ${browserVersion}`,
);
console.log(
  `load     node ${(nodeLoadMs / 1000).toFixed(1)} s (file), chromium ${(browserLoadMs / 1000).toFixed(1)} s (${ranges} HTTP Range requests, ${info.kernels}, ${info.threads} threads, isolated ${info.crossOriginIsolated})`,
);
console.log(
  `decode   node ${n.toFixed(2)} tok/s, chromium ${b.toFixed(2)} tok/s, ratio ${(b / n).toFixed(3)}`,
);
console.log(
  `runs     node [${nodeRuns.map((r) => r.tokS.toFixed(2)).join(", ")}], chromium [${webRuns.map((r) => r.tokS.toFixed(2)).join(", ")}]`,
);
console.log(`greedy   tokens ${same ? "identical" : "DIFFER"} (${nodeRuns[0]!.tokens.length} tokens)`);
