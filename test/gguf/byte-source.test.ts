/**
 * Every ByteSource reads the same GGUF the same way: a Node file path, HTTP Range requests
 * (against `edgellm web`'s static server), a Blob and memory; a server without Range support and a
 * 404 are clear GGUFErrors.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { blobSource, httpSource, memorySource, openGGUF, GGUFError, loadLLM } from "../../src/index.js";
import { startWebServer } from "../../src/cli/web.js";
import { MODELS_DIR } from "../../src/server/web-ui.js";

const MODEL = join(MODELS_DIR, "edgellm-default-q8_0.gguf");

test("file, HTTP Range, Blob and memory sources read identical headers and tensors", async () => {
  const bytes = readFileSync(MODEL);
  const web = await startWebServer({ port: 0 });
  try {
    const ref = await openGGUF(MODEL);
    const url = `${web.url}models/edgellm-default-q8_0.gguf`;
    for (const input of [
      url,
      new URL(url),
      blobSource(new Blob([bytes]), "blob"),
      memorySource(new Uint8Array(bytes)),
    ]) {
      const f = await openGGUF(input, { headerChunkBytes: 4096 });
      assert.equal(f.fileSize, ref.fileSize);
      assert.deepEqual([...f.metadata.keys()], [...ref.metadata.keys()]);
      for (const t of ref.tensors) assert.deepEqual(await f.readTensor(t.name), await ref.readTensor(t));
      await f.close();
    }
    await ref.close();
    const ranged = web.log.filter((r) => r.range).length;
    assert.ok(ranged > 2, `tensors were read by Range requests (${ranged})`);
    // loadLLM from a URL generates like from the file.
    const a = await loadLLM(MODEL, { threads: 1 });
    const b = await loadLLM(url, { threads: 1 });
    const prompt = "12 + 30 =";
    const ta = (await a.complete(prompt, { maxTokens: 8, temperature: 0 })).choices[0]!.tokens;
    const tb = (await b.complete(prompt, { maxTokens: 8, temperature: 0 })).choices[0]!.tokens;
    assert.deepEqual(tb, ta);
    await a.close();
    await b.close();
  } finally {
    await web.close();
  }
});

test("HTTP without Range support, and a 404, are GGUFErrors that say so", async () => {
  const plain = createServer((req, res) => {
    if (req.url === "/missing.gguf") res.writeHead(404).end();
    else res.writeHead(200, { "content-length": 4 }).end("GGUF");
  });
  await new Promise<void>((r) => plain.listen(0, "127.0.0.1", () => r()));
  const base = `http://127.0.0.1:${(plain.address() as AddressInfo).port}`;
  try {
    await assert.rejects(
      httpSource(`${base}/model.gguf`),
      (e: unknown) => e instanceof GGUFError && /Range/.test((e as Error).message),
    );
    await assert.rejects(
      openGGUF(`${base}/missing.gguf`),
      (e: unknown) => e instanceof GGUFError && /404/.test((e as Error).message),
    );
  } finally {
    plain.closeAllConnections();
    plain.close();
  }
});
