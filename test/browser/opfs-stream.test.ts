/**
 * Weights left in the file, in the browser (headless Chromium): a model downloaded into OPFS is
 * read by the engine worker through a FileSystemSyncAccessHandle, synchronously and mid-forward,
 * for a dense model streamed layer by layer and a mixture-of-experts model with its experts on
 * demand, each under a memory budget (LoadRequest.maxMemory, "auto": the budget is one byte below
 * what the resident model needs, so the planner must leave weights in the file). The greedy
 * tokens must equal those of the same file loaded resident in the same page, and the worker must
 * report the layer loads / expert misses it read. A source without synchronous reads (a picked
 * File) is refused with a typed error before loading.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { GGMLType } from "../../src/gguf/types.js";
import { openGGUF } from "../../src/gguf/reader.js";
import { writeTestModel, type TestModelSpec } from "../../src/model/factory/index.js";
import { modelConfig, planModel } from "../../src/model/index.js";
import { wasmPlacementTarget } from "../../src/kernels/wasm/wasm-kernel-set.js";
import { kvPoolBytesPerLayer } from "../../src/engine/engine.js";
import { startWebServer, type WebServer } from "../../src/cli/web.js";
import { ISOLATION_HEADERS } from "../../src/server/web-ui.js";
import { launch, skipReason } from "./chromium.js";
import { SMALL_SHAPE } from "../model/helpers.js";

const skip = skipReason();
if (skip) console.log(`# ${skip}`);
const dir = mkdtempSync(join(tmpdir(), "web-opfs-stream-"));
const KV = { contextSize: 128, parallel: 1 };
let browser: Browser;
let web: WebServer;

const dense: TestModelSpec = {
  arch: "llama",
  ...SMALL_SHAPE,
  randomBlocks: true,
  nLayer: 5,
  types: { weights: GGMLType.Q4_K, overrides: {} },
};
const moe: TestModelSpec = {
  arch: "qwen3moe",
  ...SMALL_SHAPE,
  randomBlocks: true,
  nLayer: 3,
  moe: { nExpert: 8, nExpertUsed: 2, nFfExp: 256, routerSkew: 6 },
  types: { weights: GGMLType.Q4_K, experts: GGMLType.Q4_K, overrides: {} },
};

/**
 * A budget the resident model does not fit (the planner's estimate, as loadLLM's, with the KV pool
 * of KV): one byte below for the dense model; for the MoE model, below by half its experts, so the
 * expert cache holds about half of them.
 */
async function budget(path: string): Promise<number> {
  const f = await openGGUF(path);
  try {
    const kvBytesPerLayer = kvPoolBytesPerLayer(modelConfig(f), KV);
    const resident = planModel(f, wasmPlacementTarget(), { kvBytesPerLayer }).placement.totalBytes;
    if (!modelConfig(f).moe) return resident - 1;
    const all = planModel(f, wasmPlacementTarget(), { kvBytesPerLayer, experts: "on-demand" }).cacheBytes;
    return resident - Math.ceil(all / 2);
  } finally {
    await f.close();
  }
}

const budgets = new Map<string, number>();
before(async () => {
  for (const [name, spec] of [
    ["dense.gguf", dense],
    ["moe.gguf", moe],
  ] as const) {
    await writeTestModel(join(dir, name), spec);
    budgets.set(name, await budget(join(dir, name)));
  }
  if (skip) return;
  web = await startWebServer({
    port: 0,
    modelsDir: dir,
    intercept: (req, res) => {
      if (req.url !== "/blank.html") return false;
      res.writeHead(200, { "content-type": "text/html", ...ISOLATION_HEADERS }).end("<!doctype html>");
      return true;
    },
  });
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await web?.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Run {
  info: { stream?: { slots: number; pinned: number }; expertSlots?: number; crossOriginIsolated: boolean };
  tokens: number[];
  reads?: { layerLoads: number; expertHits: number; expertMisses: number; bytesRead: number };
}

/** In the page: load `model` (downloaded into OPFS on first use) with `opts`, generate greedily. */
function generate(page: Page, model: string, opts: Record<string, unknown>): Promise<Run> {
  return page.evaluate(
    async ({ model, opts }) => {
      const { WorkerEngine } = await import("/edgellm-web.js" as string);
      const w = (globalThis as unknown as { eng?: unknown }).eng ?? new WorkerEngine("/engine-worker.js");
      (globalThis as unknown as { eng?: unknown }).eng = w;
      const info = await w.load({ kind: "url", url: `/models/${model}` }, undefined, opts);
      let done: { tokens: number[]; reads?: Run["reads"] } | undefined;
      for await (const ev of w.chat([], {
        tokens: [1, 17, 250, 3, 99, 42, 7],
        maxTokens: 12,
        ignoreEos: true,
      }))
        if (ev.type === "done") done = ev;
      return { info, tokens: done!.tokens, reads: done!.reads };
    },
    { model, opts },
  );
}

for (const [model, what] of [
  ["dense.gguf", "streamed layers"],
  ["moe.gguf", "experts on demand"],
] as const) {
  test(`${what} read from OPFS under a budget give the resident model's tokens`, { skip }, async () => {
    const page = await browser.newPage();
    try {
      await page.goto(`${web.url}blank.html`);
      const resident = await generate(page, model, { threads: 2, ...KV });
      const seen = web.log.length;
      assert.equal(resident.info.crossOriginIsolated, true);
      assert.equal(resident.reads, undefined);
      assert.equal(resident.tokens.length, 12);
      const budget = budgets.get(model)!;
      const placed = await generate(page, model, { threads: 2, ...KV, maxMemory: budget, weights: "auto" });
      assert.deepEqual(placed.tokens, resident.tokens);
      assert.ok(placed.reads && placed.reads.bytesRead > 0, JSON.stringify(placed.reads));
      if (model === "dense.gguf") {
        assert.ok(placed.info.stream, JSON.stringify(placed.info));
        assert.ok(placed.info.stream.slots < dense.nLayer);
        assert.ok(placed.reads.layerLoads >= dense.nLayer - placed.info.stream.pinned);
      } else {
        assert.ok(placed.info.expertSlots! < moe.nLayer * moe.moe!.nExpert, JSON.stringify(placed.info));
        assert.ok(placed.reads.expertMisses > placed.info.expertSlots!, JSON.stringify(placed.reads));
      }
      // the second load read the copy in OPFS: no request for the model
      assert.deepEqual(
        web.log.slice(seen).filter((r) => r.url.startsWith("/models/")),
        [],
      );
    } finally {
      await page.close();
    }
  });
}

test("streaming from a picked File (no synchronous reads) is a typed error", { skip }, async () => {
  const page = await browser.newPage();
  try {
    await page.goto(`${web.url}blank.html`);
    const err = await page.evaluate(async () => {
      const { WorkerEngine } = await import("/edgellm-web.js" as string);
      const w = new WorkerEngine("/engine-worker.js");
      const file = new File([await (await fetch("/models/dense.gguf")).blob()], "dense.gguf");
      try {
        await w.load({ kind: "file", file }, undefined, { weights: "stream", threads: 1 });
        return undefined;
      } catch (e) {
        return { name: (e as Error).name, message: (e as Error).message };
      } finally {
        w.terminate();
      }
    });
    assert.equal(err?.name, "ModelError", JSON.stringify(err));
    assert.match(err!.message, /streamed layers need a file with synchronous reads/);
  } finally {
    await page.close();
  }
});
