/**
 * examples/browser/ in headless Chromium: the plain page (import map -> the `edgellm/web` bundle,
 * no bundler) loads the embedded model in its worker and answers the arithmetic question.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import type { Server } from "node:http";
import type { Browser } from "playwright-core";
import { launch, skipReason } from "./chromium.js";

const skip = skipReason();
if (skip) console.log(`# ${skip}`);

let browser: Browser;
let srv: { server: Server; url: string };
before(async () => {
  if (skip) return;
  const mod = (await import(new URL("../../../examples/browser/serve.mjs", import.meta.url).href)) as {
    startExampleServer(port: number): Promise<{ server: Server; url: string }>;
  };
  srv = await mod.startExampleServer(0);
  browser = await launch();
});
after(async () => {
  await browser?.close();
  srv?.server.close();
});

test("the minimal example page answers with the embedded model", { skip }, async () => {
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(srv.url);
  await page.waitForSelector("#send:not([disabled])", { timeout: 120_000 });
  assert.match((await page.textContent("#status")) ?? "", /wasm-(relaxed-simd|simd128), \d+ thread/);
  await page.click("#send");
  await page.waitForSelector("#answer[data-done=true]", { timeout: 120_000 });
  assert.match((await page.textContent("#answer")) ?? "", /5198/);
  assert.deepEqual(errors, []);
  await page.close();
});
