/**
 * Split models (llama.cpp gguf-split: `name-00001-of-00003.gguf`, keys split.no / split.count /
 * split.tensors.count, metadata in the first part, each part's tensor offsets its own): opened
 * from the first part's path (the others found by name), from URLs over HTTP Range, from Blobs in
 * order, and from `edgellm pull` / `-m <url>` through the model cache; the model answers exactly
 * as the unsplit file; a missing, misplaced or lone later part is a clear GGUFError.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { blobSource, GGUFError, loadLLM, openGGUF, parseGGUF, type GGUFFile } from "../../src/index.js";
import { GGUFWriter } from "../../src/gguf/writer.js";
import { copyMetadata } from "../../src/gguf/copy.js";
import { GGUFValueType, typed } from "../../src/gguf/value.js";
import { splitPartNames } from "../../src/gguf/reader.js";
import { buildTestModel } from "../../src/model/factory/index.js";
import { GGMLType } from "../../src/gguf/types.js";
import { startWebServer, type WebServer } from "../../src/cli/web.js";

const MAIN = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "split-"));
const N = 3;
let whole: Uint8Array;
let parts: Uint8Array<ArrayBuffer>[];
let web: WebServer;

/** gguf-split's layout: part 1 = all metadata + split keys + its tensors; later parts split keys + tensors. */
function split(f: GGUFFile, n: number): Uint8Array[] {
  const per = Math.ceil(f.tensors.length / n);
  return Array.from({ length: n }, (_, i) => {
    const w = new GGUFWriter();
    if (i === 0) copyMetadata(f, w);
    w.set("split.no", typed(GGUFValueType.UINT16, i));
    w.set("split.count", typed(GGUFValueType.UINT16, n));
    w.set("split.tensors.count", typed(GGUFValueType.INT32, f.tensors.length));
    for (const t of f.tensors.slice(i * per, (i + 1) * per))
      w.addTensor(t.name, t.type, t.dims, f.readTensorSync(t));
    return w.toBytes();
  });
}

before(async () => {
  whole = buildTestModel({
    arch: "llama",
    nEmbd: 128,
    nLayer: 3,
    nHead: 4,
    nHeadKv: 2,
    nFf: 256,
    nCtx: 128,
    nVocab: 500,
    seed: 21,
    types: { weights: GGMLType.Q8_0 },
  }).toBytes();
  parts = split(parseGGUF(whole), N) as Uint8Array<ArrayBuffer>[];
  writeFileSync(join(dir, "whole.gguf"), whole);
  mkdirSync(join(dir, "lone"));
  parts.forEach((p, i) => {
    writeFileSync(join(dir, `m-0000${i + 1}-of-0000${N}.gguf`), p);
    if (i < 2) writeFileSync(join(dir, "lone", `m-0000${i + 1}-of-0000${N}.gguf`), p); // part 3 missing
  });
  web = await startWebServer({ port: 0, modelsDir: dir });
});
after(async () => {
  await web?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function greedy(input: Parameters<typeof loadLLM>[0]): Promise<number[]> {
  const llm = await loadLLM(input, { threads: 1 });
  try {
    const c = await llm.complete([1, 7, 42, 99], { maxTokens: 8, temperature: 0, ignoreEos: true });
    return c.choices[0]!.tokens;
  } finally {
    await llm.close();
  }
}

test("splitPartNames: every part's name from any part's path or URL", () => {
  assert.deepEqual(splitPartNames("/a/m-00002-of-00003.gguf"), [
    "/a/m-00001-of-00003.gguf",
    "/a/m-00002-of-00003.gguf",
    "/a/m-00003-of-00003.gguf",
  ]);
  assert.deepEqual(splitPartNames("https://h/x/m-00001-of-00002.gguf?download=1"), [
    "https://h/x/m-00001-of-00002.gguf?download=1",
    "https://h/x/m-00002-of-00002.gguf?download=1",
  ]);
  assert.equal(splitPartNames("/a/m.gguf"), undefined);
});

test("the first part's path, the URLs and Blobs in order all read the same tensors as the whole file; same greedy tokens", async () => {
  const ref = parseGGUF(whole);
  const url = `${web.url}models/m-00001-of-0000${N}.gguf`;
  for (const input of [
    join(dir, `m-00001-of-0000${N}.gguf`),
    url,
    parts.map((p, i) => blobSource(new Blob([p]), `part${i}`)),
  ]) {
    const f = await openGGUF(input);
    assert.deepEqual(
      f.tensors.map((t) => t.name),
      ref.tensors.map((t) => t.name),
    );
    assert.equal(f.metadata.get("general.architecture"), "llama");
    for (const t of ref.tensors) assert.deepEqual(await f.readTensor(t.name), ref.readTensorSync(t));
    await f.close();
  }
  const want = await greedy(join(dir, "whole.gguf"));
  assert.deepEqual(await greedy(join(dir, `m-00001-of-0000${N}.gguf`)), want);
  assert.deepEqual(await greedy(url), want);
});

test("a missing part, a later part alone, parts out of order: GGUFErrors that say so", async () => {
  await assert.rejects(openGGUF(join(dir, "lone", `m-00001-of-0000${N}.gguf`)), GGUFError);
  await assert.rejects(
    openGGUF(join(dir, `m-00002-of-0000${N}.gguf`)),
    (e: unknown) => e instanceof GGUFError && /part 2 of a 3-part split model/.test((e as Error).message),
  );
  await assert.rejects(
    openGGUF([parts[1]!, parts[0]!, parts[2]!].map((p) => blobSource(new Blob([p])))),
    (e: unknown) =>
      e instanceof GGUFError && /expected part 1 of 3, found part 2 of 3/.test((e as Error).message),
  );
  await assert.rejects(
    openGGUF(blobSource(new Blob([parts[0]!]))),
    (e: unknown) => e instanceof GGUFError && /other parts are needed/.test((e as Error).message),
  );
});

test("edgellm pull of a split URL caches every part beside the first; -m <url> then runs with no request", async () => {
  const env = { ...process.env, EDGELLM_CACHE: join(dir, "cache") };
  const run = (args: string[]) =>
    new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
      const p = spawn(process.execPath, [MAIN, ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      let err = "";
      p.stdout.on("data", (d) => (out += d));
      p.stderr.on("data", (d) => (err += d));
      p.on("close", (code) => resolve({ code, out, err }));
    });
  const url = `${web.url}models/m-00002-of-0000${N}.gguf`;
  const r = await run(["pull", url]);
  assert.equal(r.code, 0, r.err);
  const first = r.out.trim();
  assert.match(first, /m-[0-9a-f]{8}-00001-of-00003\.gguf$/);
  for (let i = 0; i < N; i++)
    assert.deepEqual(readFileSync(first.replace("-00001-of-", `-0000${i + 1}-of-`)), Buffer.from(parts[i]!));
  const from = web.log.length;
  const g = await run(["run", "-m", url, "--tokens", "1,7,42,99", "-n", "4", "--threads", "1"]);
  assert.equal(g.code, 0, g.err);
  assert.deepEqual(web.log.slice(from), [], "cached parts: no request");
});
