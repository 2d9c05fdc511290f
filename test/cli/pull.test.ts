/**
 * `edgellm pull <url>` and `-m <url>` against a local static HTTP server: a download killed
 * halfway resumes by Range where it stopped (and a connection cut mid-body is retried, resuming,
 * within one pull); the cached file equals the served one; a second use makes no request; a
 * second process pulling the same URL is refused while the first lives; 404 and
 * a non-GGUF body are clear errors with exit code 1; `cache list` / `cache rm` see and remove it.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { writeTestModel } from "../../src/model/factory/index.js";
import { cacheKey } from "../../src/cache/common.js";

const MAIN = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "pull-cli-"));
const cacheDir = join(dir, "cache");
const modelPath = join(dir, "m.gguf");

interface Logged {
  url: string;
  range?: string;
}

/**
 * Static server over `model`: Range requests answered 206 with an ETag; `/stall/...` sends half
 * the body and then nothing (the test kills the client), `/cut/...` destroys the connection after
 * half on its first request; `/notes.txt` is not a GGUF; anything else 404.
 */
function serve(model: Buffer): Promise<{ server: Server; base: string; log: Logged[] }> {
  const log: Logged[] = [];
  const cutDone = new Set<string>();
  const server = createServer((req, res) => {
    const url = req.url ?? "";
    log.push({ url, range: req.headers.range });
    if (url === "/notes.txt") {
      res.writeHead(200, { "content-type": "text/plain", "content-length": 24 });
      res.end("these are not weights..\n");
      return;
    }
    if (!url.endsWith("/m.gguf")) {
      res.writeHead(404).end("not found\n");
      return;
    }
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? "");
    const start = m ? Number(m[1]) : 0;
    const half = Math.floor(model.length / 2);
    const headers = { etag: '"v1"', "accept-ranges": "bytes", "content-type": "application/octet-stream" };
    if (m) {
      res.writeHead(206, {
        ...headers,
        "content-length": model.length - start,
        "content-range": `bytes ${start}-${model.length - 1}/${model.length}`,
      });
    } else res.writeHead(200, { ...headers, "content-length": model.length });
    if (!m && url.startsWith("/stall/")) {
      res.write(model.subarray(0, half)); // and never end: the client is killed
      return;
    }
    if (!m && url.startsWith("/cut/") && !cutDone.has(url)) {
      cutDone.add(url);
      res.write(model.subarray(0, half), () => setTimeout(() => res.destroy(), 200));
      return;
    }
    res.end(model.subarray(start));
  });
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () =>
      resolve({ server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, log }),
    ),
  );
}

function cli(args: string[]): {
  child: ChildProcess;
  done: Promise<{ code: number | null; out: string; err: string }>;
} {
  const child = spawn(process.execPath, [MAIN, ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, EDGELLM_CACHE: cacheDir },
  });
  let out = "";
  let err = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (err += d));
  const done = new Promise<{ code: number | null; out: string; err: string }>((resolve) =>
    child.on("close", (code) => resolve({ code, out, err })),
  );
  return { child, done };
}

describe("edgellm pull / -m <url>", () => {
  let srv: Awaited<ReturnType<typeof serve>>;
  let model: Buffer;
  before(async () => {
    await writeTestModel(modelPath, {
      arch: "llama",
      nEmbd: 128,
      nLayer: 2,
      nHead: 4,
      nHeadKv: 2,
      nFf: 256,
      nCtx: 128,
      nVocab: 600,
      seed: 5,
    });
    model = readFileSync(modelPath);
    srv = await serve(model);
  });
  after(() => {
    srv?.server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test("a pull killed halfway resumes by Range where it stopped; the cached file equals the served one", async () => {
    const url = `${srv.base}/stall/m.gguf`;
    const part = join(cacheDir, "models", `${cacheKey(url)}.gguf.part`);
    const half = Math.floor(model.length / 2);
    const first = cli(["pull", url]);
    const t0 = Date.now();
    while (!(existsSync(part) && statSync(part).size >= half)) {
      assert.ok(Date.now() - t0 < 60_000, "the first pull wrote half the file");
      await new Promise((r) => setTimeout(r, 50));
    }
    first.child.kill("SIGKILL");
    await first.done;
    const from = srv.log.length;
    const r = await cli(["pull", url]).done;
    assert.equal(r.code, 0, r.err);
    const reqs = srv.log.slice(from);
    assert.deepEqual(reqs, [{ url: "/stall/m.gguf", range: `bytes=${half}-` }], "one request, from the cut");
    assert.match(r.err, /resumed at/);
    const path = r.out.trim();
    assert.equal(path, join(cacheDir, "models", `${cacheKey(url)}.gguf`));
    assert.ok(readFileSync(path).equals(model), "cached bytes equal the served file");
    assert.equal(existsSync(part), false);
  });

  test("a connection cut mid-body is retried within one pull, resuming; -m <url> then runs from the cache with no request", async () => {
    const url = `${srv.base}/cut/m.gguf`;
    const from = srv.log.length;
    const r = await cli(["pull", url]).done;
    assert.equal(r.code, 0, r.err);
    const reqs = srv.log.slice(from);
    assert.equal(reqs.length, 2, JSON.stringify(reqs));
    assert.equal(reqs[0]!.range, undefined);
    const resumedAt = Number(/^bytes=(\d+)-$/.exec(reqs[1]!.range ?? "")?.[1]);
    assert.ok(resumedAt > 0 && resumedAt <= model.length / 2, `resumed at ${resumedAt}, not 0`);
    assert.ok(readFileSync(r.out.trim()).equals(model));

    const again = srv.log.length;
    const run = await cli(["run", "-m", url, "--tokens", "1,2,3", "-n", "3", "--threads", "1"]).done;
    assert.equal(run.code, 0, run.err);
    assert.match(run.err, /decode 3 tok/);
    assert.deepEqual(srv.log.slice(again), [], "a cached model is used with no request");

    const list = await cli(["cache", "list", "--json"]).done;
    assert.equal(list.code, 0, list.err);
    const entries = JSON.parse(list.out) as { url: string; complete: boolean; size: number }[];
    const e = entries.find((x) => x.url === url);
    assert.ok(e?.complete && e.size === model.length, list.out);
    const rm = await cli(["cache", "rm", url]).done;
    assert.equal(rm.code, 0, rm.err);
    assert.equal(existsSync(r.out.trim()), false);
  });

  test("a pull of a URL another live process is pulling is refused (lock); a dead process's lock is taken over", async () => {
    const url = `${srv.base}/locked/m.gguf`;
    const lock = join(cacheDir, "models", `${cacheKey(url)}.lock`);
    writeFileSync(lock, String(process.pid)); // this test process: alive
    const busy = await cli(["pull", url]).done;
    assert.equal(busy.code, 1);
    assert.match(
      busy.err,
      new RegExp(`another download of this model is running \\(process ${process.pid}\\)`),
    );
    // (the first test's killed pull left a lock of a dead process, and the pull after it worked)
    rmSync(lock);
    const ok = await cli(["pull", url]).done;
    assert.equal(ok.code, 0, ok.err);
    assert.equal(existsSync(lock), false, "the lock is released");
  });

  test("404 and a non-GGUF body: clear errors, exit code 1, nothing left in the cache", async () => {
    const nf = await cli(["pull", `${srv.base}/missing/x.gguf`]).done;
    assert.equal(nf.code, 1);
    assert.match(nf.err, /not found \(HTTP 404\)/);
    const ng = await cli(["run", "-m", `${srv.base}/notes.txt`, "hello"]).done;
    assert.equal(ng.code, 1);
    assert.match(ng.err, /not a GGUF file/);
    const key = cacheKey(`${srv.base}/notes.txt`);
    assert.equal(existsSync(join(cacheDir, "models", `${key}.gguf.part`)), false);
    assert.equal(existsSync(join(cacheDir, "models", `${key}.json`)), false);
    const bad = await cli(["pull", "ftp://example.invalid/x.gguf"]).done;
    assert.equal(bad.code, 1);
    assert.match(bad.err, /not an http\(s\) URL/);
  });
});
