/**
 * What a user sees in the in-browser chat page (real headless Chromium) when a model cannot be
 * loaded: a model on another origin that does not allow this page (CORS) and a storage quota too
 * small for the model (simulated in the engine worker, see PRELUDE), both when the size is known
 * up front and when the server does not say and the write fails.
 * 404, non-GGUF and the page without COOP/COEP are in chat.test.ts.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createReadStream, statSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { startWebServer, type WebServer } from "../../src/cli/web.js";
import { MODELS_DIR } from "../../src/server/web-ui.js";
import { launch, skipReason } from "./chromium.js";

const MODEL = join(MODELS_DIR, "edgellm-default-q8_0.gguf");
const skip = skipReason();
if (skip) console.log(`# ${skip}`);

async function errorText(page: Page): Promise<string> {
  await page.waitForFunction(() => document.body.dataset.phase === "error", null, { timeout: 60_000 });
  return (await page.textContent("#error")) ?? "";
}

describe("load errors in the chat page (Chromium)", { skip }, () => {
  let browser: Browser;
  let web: WebServer;
  let plain: WebServer;
  let other: Server;
  let otherUrl: string;
  const otherLog: string[] = [];

  before(async () => {
    const size = statSync(MODEL).size;
    web = await startWebServer({
      port: 0,
      // ?chunked: the model without Content-Length (the size is unknown until the end)
      intercept: (req, res) => {
        if (!req.url?.includes("chunked=")) return false;
        res.writeHead(200, {
          "content-type": "application/octet-stream",
          "cross-origin-resource-policy": "same-origin",
        });
        createReadStream(MODEL).pipe(res);
        return true;
      },
    });
    plain = await startWebServer({ port: 0, isolation: false });
    // Another origin serving the model with no CORS (and no CORP) header, like most static hosts.
    other = createServer((req, res) => {
      otherLog.push(`${req.method} ${req.url}`);
      res.writeHead(200, { "content-type": "application/octet-stream", "content-length": size });
      if (req.method === "HEAD") res.end();
      else createReadStream(MODEL).pipe(res);
    });
    await new Promise<void>((r) => other.listen(0, "127.0.0.1", r));
    otherUrl = `http://localhost:${(other.address() as AddressInfo).port}/m.gguf`;
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
    await web?.close();
    await plain?.close();
    other?.close();
  });

  test("a model on another origin without Access-Control-Allow-Origin: the page says CORS", async () => {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    try {
      // Not cross-origin isolated: the no-cors probe reaches the server, so the refusal is certainly CORS.
      await page.goto(`${plain.url}?model=${encodeURIComponent(otherUrl)}`);
      const certain = await errorText(page);
      assert.match(certain, /not allowed to read the model from that server \(CORS\)/);
      assert.match(certain, /Access-Control-Allow-Origin/);
      assert.ok(
        otherLog.some((r) => r.startsWith("GET")),
        "the model was requested",
      );
      // Cross-origin isolated (COEP require-corp): even the probe is blocked; the message still names CORS.
      await page.goto(`${web.url}?model=${encodeURIComponent(otherUrl)}`);
      const isolated = await errorText(page);
      assert.match(isolated, /CORS/);
      assert.match(isolated, /Access-Control-Allow-Origin/);
      assert.doesNotMatch(await page.textContent("#cache-list").then((t) => t ?? ""), /m\.gguf/);
    } finally {
      await ctx.close();
    }
  });

  /**
   * Chromium ignores DevTools' quota override for these contexts, so the quota is simulated where
   * the download runs, in the engine worker: its script is served with a prelude that stubs
   * navigator.storage.estimate (size known) or makes OPFS writes fail with QuotaExceededError past
   * 256 KiB (size unknown), as a full browser storage does.
   */
  const PRELUDE = {
    estimate: `StorageManager.prototype.estimate = async () => ({ quota: 512 * 1024, usage: 0 });\n`,
    write: `{ const w = FileSystemWritableFileStream.prototype.write; let n = 0;
      FileSystemWritableFileStream.prototype.write = function (d) {
        n += d.byteLength ?? 0;
        if (n > 256 * 1024) return Promise.reject(new DOMException("quota exceeded", "QuotaExceededError"));
        return w.call(this, d);
      };
      const s = FileSystemSyncAccessHandle.prototype.write;
      FileSystemSyncAccessHandle.prototype.write = function (d, o) {
        n += d.byteLength ?? 0;
        if (n > 256 * 1024) throw new DOMException("quota exceeded", "QuotaExceededError");
        return s.call(this, d, o);
      }; }\n`,
  };

  for (const known of [true, false]) {
    test(`a storage quota too small for the model (${known ? "size known: refused before downloading" : "size unknown: the write fails"}) shows a quota message`, async () => {
      const ctx = await browser.newContext();
      const page = await ctx.newPage();
      try {
        await ctx.route("**/engine-worker.js", async (route) => {
          const res = await route.fetch();
          const body = (known ? PRELUDE.estimate : PRELUDE.write) + (await res.text());
          await route.fulfill({ response: res, body });
        });
        const url = known
          ? "models/edgellm-default-q8_0.gguf"
          : `models/edgellm-default-q8_0.gguf?chunked=${Date.now()}`;
        await page.goto(`${web.url}?model=${encodeURIComponent(url)}`);
        const text = await errorText(page);
        assert.match(text, /Not enough browser storage for this model/);
        assert.match(
          text,
          known ? /it needs 1\.0 MiB more, the browser allows 0\.5 MiB/ : /storage quota is full/,
        );
        assert.equal(await page.evaluate(() => document.body.dataset.ready), "false");
      } finally {
        await ctx.close();
      }
    });
  }
});
