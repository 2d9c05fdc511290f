/**
 * The chat page in real headless Chromium, driven as a user would: the in-browser engine answers
 * with the embedded model and the same greedy tokens as Node; relaxed SIMD and SIMD128 both work;
 * a download cut halfway resumes by Range and a reload reads the model from OPFS; 404 / non-GGUF
 * give clear messages; without COOP/COEP the page runs on one thread and says so; the page served
 * by `edgellm serve` streams answers from the server's OpenAI API (with an API key too).
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { loadLLM, type LLM } from "../../src/index.js";
import { startWebServer, type WebServer } from "../../src/cli/web.js";
import { MODELS_DIR, registerWebUI } from "../../src/server/web-ui.js";
import { buildServer } from "../../src/server/app.js";
import { launch, skipReason } from "./chromium.js";

const MODEL = join(MODELS_DIR, "edgellm-default-q8_0.gguf");
const QUESTION = "What is 4821 + 377?";
const MAX_TOKENS = 256; // the default model answers this in 170 (the ± lines carry the operands' unused digits)
const skip = skipReason();
if (skip) console.log(`# ${skip}`);

async function waitLoaded(page: Page): Promise<void> {
  await page.waitForFunction(
    () => document.body.dataset.ready === "true" || document.body.dataset.phase === "error",
    null,
    { timeout: 120_000 },
  );
  const err = await page.textContent("#error");
  assert.equal(err, "", `the page failed to load the model: ${err}`);
}

/** Type a question, send it, wait for the streamed answer; returns its text and token ids. */
async function ask(page: Page, q: string): Promise<{ text: string; tokens: number[]; streamed: number }> {
  const before = await page.locator(".msg.assistant").count();
  // Count content updates of the new answer while it streams: more than one proves tokens arrived
  // one by one. The observer is in place before the question is sent (a fast answer can be done
  // before a Playwright round trip on a loaded machine).
  await page.evaluate((n) => {
    const w = window as unknown as { streamed?: Promise<number> };
    w.streamed = new Promise<number>((resolve) => {
      let updates = 0;
      const obs = new MutationObserver(() => {
        const el = document.querySelectorAll(".msg.assistant")[n];
        if (!el) return;
        updates++;
        if (el.getAttribute("data-done") === "true") {
          obs.disconnect();
          resolve(updates);
        }
      });
      obs.observe(document.querySelector("#chat")!, {
        subtree: true,
        childList: true,
        characterData: true,
        attributes: true,
      });
    });
  }, before);
  await page.fill("#prompt", q);
  await page.click("#send");
  const msg = page.locator(".msg.assistant").nth(before);
  const streamed = await page.evaluate(() => (window as unknown as { streamed: Promise<number> }).streamed);
  const err = await page.textContent("#error");
  assert.equal(err, "", `chat failed: ${err}`);
  const tokens = ((await msg.getAttribute("data-tokens")) ?? "").split(",").filter(Boolean).map(Number);
  return { text: (await msg.locator(".content").textContent()) ?? "", tokens, streamed };
}

describe("chat page in Chromium", { skip }, () => {
  let browser: Browser;
  let web: WebServer;
  let nodeTokens: Map<string, number[]>;
  let cutOnce = true;
  let cutAt = 0;

  before(async () => {
    const size = statSync(MODEL).size;
    web = await startWebServer({
      port: 0,
      // /models/...gguf?cut: the first response stops after half the file (connection destroyed).
      intercept: (req, res) => {
        if (!req.url?.includes("cut=") || !cutOnce || req.headers.range) return false;
        cutOnce = false;
        cutAt = Math.floor(size / 2);
        res.writeHead(200, {
          "content-type": "application/octet-stream",
          "content-length": size,
          "accept-ranges": "bytes",
          "cross-origin-resource-policy": "same-origin",
        });
        // Reset after a stall: data still queued in an errored body stream is dropped by the browser.
        res.write(readFileSync(MODEL).subarray(0, cutAt), () => setTimeout(() => res.destroy(), 1500));
        return true;
      },
    });
    browser = await launch();
    // Node's greedy tokens for the same conversation, per kernel build.
    nodeTokens = new Map();
    for (const simd of ["simd128"] as const) {
      const llm: LLM = await loadLLM(MODEL, { threads: 2, simd });
      const c = await llm.complete(
        { messages: [{ role: "user", content: QUESTION }] },
        { maxTokens: MAX_TOKENS, temperature: 0 },
      );
      nodeTokens.set(simd, c.choices[0]!.tokens);
      await llm.close();
    }
  });
  after(async () => {
    await browser?.close();
    await web?.close();
  });

  for (const simd of ["simd128", "relaxed"] as const) {
    test(`in-browser engine (${simd}) answers with the embedded model, same greedy tokens as Node, no inference request to any server`, async () => {
      const ctx = await browser.newContext();
      const page = await ctx.newPage();
      const logFrom = web.log.length;
      await page.goto(`${web.url}?simd=${simd}&threads=2&maxTokens=${MAX_TOKENS}`);
      await waitLoaded(page);
      assert.equal(
        await page.evaluate(() => document.body.dataset.kernels),
        simd === "relaxed" ? "wasm-relaxed-simd" : "wasm-simd128",
      );
      assert.equal(
        await page.evaluate(() => document.body.dataset.threads),
        "2",
        "cross-origin isolated: 2 kernel threads",
      );
      const a = await ask(page, QUESTION);
      assert.match(a.text, /5198/);
      assert.ok(a.streamed > 3, `answer streamed in pieces (${a.streamed} updates)`);
      assert.deepEqual(
        a.tokens,
        nodeTokens.get("simd128"),
        `greedy tokens equal Node's (${simd} vs Node simd128)`,
      );
      const requests = web.log.slice(logFrom).map((r) => `${r.method} ${r.url}`);
      assert.ok(
        !requests.some((r) => r.includes("/v1/chat") || r.startsWith("POST")),
        `no inference request: ${requests.join(", ")}`,
      );
      if (simd === "relaxed") await page.screenshot({ path: "/tmp/edgellm-web-chat.png", fullPage: true });
      await ctx.close();
    });
  }

  test("OPFS cache: a download cut halfway resumes by Range; a reload reads the model from OPFS with no model bytes fetched", async () => {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    const modelUrl = `models/edgellm-default-q8_0.gguf?cut=${Date.now()}`;
    const logFrom = web.log.length;
    await page.goto(`${web.url}?model=${encodeURIComponent(modelUrl)}&maxTokens=${MAX_TOKENS}`);
    await waitLoaded(page);
    const gets = web.log.slice(logFrom).filter((r) => r.url.includes("cut="));
    assert.equal(cutOnce, false, "the server cut the first download");
    assert.equal(gets.length, 2, `one cut download and one resumed request: ${JSON.stringify(gets)}`);
    const from = Number(/^bytes=(\d+)-$/.exec(gets[1]!.range ?? "")?.[1]);
    assert.ok(
      from > 0 && from <= cutAt,
      `resumed at ${from} (cut at ${cutAt}), not from 0: ${JSON.stringify(gets)}`,
    );
    // the list refreshes right after the load (not awaited by the page)
    await page.waitForFunction(
      () => /edgellm-default-q8_0\.gguf/.test(document.querySelector("#cache-list")?.textContent ?? ""),
      null,
      { timeout: 15_000 },
    );
    assert.match((await ask(page, QUESTION)).text, /5198/);

    const logReload = web.log.length;
    await page.reload();
    await waitLoaded(page);
    const again = web.log.slice(logReload).filter((r) => r.url.startsWith("/models/"));
    assert.deepEqual(
      again,
      [],
      `second load reads OPFS only: ${JSON.stringify(again)} ${await page.textContent("#progress-text")}`,
    );
    assert.match((await page.textContent("#progress-text")) ?? "", /Loaded/);
    await ctx.close();
  });

  test("a 404 and a non-GGUF URL show clear messages", async () => {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    await page.goto(`${web.url}?model=${encodeURIComponent("models/missing.gguf")}`);
    await page.waitForFunction(() => document.body.dataset.phase === "error", null, { timeout: 60_000 });
    assert.match((await page.textContent("#error")) ?? "", /not found \(HTTP 404\)/i);
    await page.goto(`${web.url}?model=${encodeURIComponent("style.css")}`);
    await page.waitForFunction(() => document.body.dataset.phase === "error", null, { timeout: 60_000 });
    assert.match((await page.textContent("#error")) ?? "", /not a GGUF/);
    await ctx.close();
  });

  test("without COOP/COEP the page runs on one thread and says so", async () => {
    const plain = await startWebServer({ port: 0, isolation: false });
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    const warnings: string[] = [];
    page.on("console", (m) => {
      if (m.type() === "warning") warnings.push(m.text());
    });
    try {
      await page.goto(`${plain.url}?maxTokens=${MAX_TOKENS}`);
      await waitLoaded(page);
      assert.equal(await page.evaluate(() => document.body.dataset.threads), "1");
      assert.match((await page.textContent("#status")) ?? "", /not cross-origin isolated: one thread/);
      assert.match((await ask(page, QUESTION)).text, /5198/);
    } finally {
      await ctx.close();
      await plain.close();
    }
  });

  test("the page served by `edgellm serve` streams answers from the server's API; with --api-key it asks for the key", async () => {
    const llm = await loadLLM(MODEL, { threads: 1 });
    const srv = buildServer(llm, { apiKey: "sekret" });
    registerWebUI(srv.app);
    const addr = await srv.app.listen({ port: 0, host: "127.0.0.1" });
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    try {
      await page.goto(`${addr}/?maxTokens=${MAX_TOKENS}`);
      await page.waitForFunction(() => document.body.dataset.started === "true");
      assert.equal(await page.inputValue("#mode"), "server");
      await page.fill("#prompt", QUESTION);
      await page.click("#send");
      await page.waitForSelector(".msg.assistant[data-done=true]");
      assert.match((await page.textContent("#error")) ?? "", /needs an API key/);
      await page.fill("#api-key", "wrong");
      await page.dispatchEvent("#api-key", "change");
      await page.fill("#prompt", QUESTION);
      await page.click("#send");
      await page.waitForSelector(".msg.assistant:nth-of-type(4)[data-done=true]");
      assert.match((await page.textContent("#error")) ?? "", /API key was refused/);
      await page.fill("#api-key", "sekret");
      await page.dispatchEvent("#api-key", "change");
      const a = await ask(page, QUESTION);
      assert.match(a.text, /5198/);
      assert.ok(a.streamed > 3, "streamed");
    } finally {
      await ctx.close();
      await srv.drain();
      await llm.close();
    }
  });
});
