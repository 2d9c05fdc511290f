/**
 * A split model (gguf-split layout, 2 parts) in the in-browser page (headless Chromium): the URL
 * of the first part downloads both parts into OPFS, the model answers as the whole file does, and
 * the cache lists both parts.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser } from "playwright-core";
import { parseGGUF } from "../../src/index.js";
import { GGUFWriter } from "../../src/gguf/writer.js";
import { copyMetadata } from "../../src/gguf/copy.js";
import { GGUFValueType, typed } from "../../src/gguf/value.js";
import { startWebServer, type WebServer } from "../../src/cli/web.js";
import { MODELS_DIR } from "../../src/server/web-ui.js";
import { launch, skipReason } from "./chromium.js";

const skip = skipReason();
if (skip) console.log(`# ${skip}`);
const dir = mkdtempSync(join(tmpdir(), "web-split-"));
let browser: Browser;
let web: WebServer;

before(async () => {
  const f = parseGGUF(readFileSync(join(MODELS_DIR, "edgellm-default-q8_0.gguf")));
  const half = Math.ceil(f.tensors.length / 2);
  for (let i = 0; i < 2; i++) {
    const w = new GGUFWriter();
    if (i === 0) copyMetadata(f, w);
    w.set("split.no", typed(GGUFValueType.UINT16, i));
    w.set("split.count", typed(GGUFValueType.UINT16, 2));
    w.set("split.tensors.count", typed(GGUFValueType.INT32, f.tensors.length));
    for (const t of f.tensors.slice(i * half, (i + 1) * half))
      w.addTensor(t.name, t.type, t.dims, f.readTensorSync(t));
    writeFileSync(join(dir, `tiny-0000${i + 1}-of-00002.gguf`), w.toBytes());
  }
  if (skip) return;
  web = await startWebServer({ port: 0, modelsDir: dir });
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await web?.close();
  rmSync(dir, { recursive: true, force: true });
});

test("the first part's URL loads both parts through OPFS and the model answers", { skip }, async () => {
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  try {
    await page.goto(
      `${web.url}?model=${encodeURIComponent("models/tiny-00001-of-00002.gguf")}&maxTokens=256`,
    );
    await page.waitForFunction(
      () => document.body.dataset.ready === "true" || document.body.dataset.phase === "error",
      null,
      { timeout: 120_000 },
    );
    assert.equal(await page.textContent("#error"), "");
    const gets = web.log.filter((r) => r.url.startsWith("/models/")).map((r) => r.url);
    assert.deepEqual(gets, ["/models/tiny-00001-of-00002.gguf", "/models/tiny-00002-of-00002.gguf"]);
    await page.fill("#prompt", "What is 4821 + 377?");
    await page.click("#send");
    await page.waitForSelector(".msg.assistant[data-done=true]", { timeout: 120_000 });
    assert.match((await page.locator(".msg.assistant .content").last().textContent()) ?? "", /5198/);
    await page.waitForFunction(
      () =>
        (document.querySelector("#cache-list")?.textContent?.match(/tiny-0000[12]-of-00002/g) ?? [])
          .length === 2,
      null,
      { timeout: 15_000 },
    );
  } finally {
    await ctx.close();
  }
});
