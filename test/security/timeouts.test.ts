// Issue 14 finding 4: a client that sent headers and 9 of 500 body bytes held its connection for
// more than 330 s, and SIGTERM never finished draining while it was open. Now a real
// `edgellm serve` answers 408 and closes within --request-timeout (short here), slow headers the
// same, and SIGTERM exits within --drain-timeout even with such a connection open.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeTestModel } from "../../src/model/factory/index.js";
import { startServe, type Served } from "../server/serve-process.js";

const dir = mkdtempSync(join(tmpdir(), "timeouts-"));
const model = join(dir, "m.gguf");
await writeTestModel(model, {
  arch: "llama",
  nEmbd: 64,
  nLayer: 2,
  nHead: 4,
  nHeadKv: 2,
  nFf: 96,
  nCtx: 128,
  nVocab: 600,
  seed: 4,
});
const started: Served[] = [];
after(() => {
  for (const s of started) if (s.proc.exitCode === null) s.proc.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});
const serve = async (args: string[]) => {
  const s = await startServe(model, ["--threads", "1", "--model-id", "tiny", ...args]);
  started.push(s);
  return s;
};

/** Opens a connection, writes `text`, resolves what the server sent once it closes the socket. */
function stall(url: string, text: string): { sock: Socket; closed: Promise<{ data: string; ms: number }> } {
  const u = new URL(url);
  const t0 = performance.now();
  const sock = connect(Number(u.port), u.hostname);
  let data = "";
  sock.on("data", (d) => (data += d));
  sock.on("error", () => {});
  const closed = new Promise<{ data: string; ms: number }>((r) =>
    sock.on("close", () => r({ data, ms: performance.now() - t0 })),
  );
  sock.write(text);
  return { sock, closed };
}

const PARTIAL_BODY =
  "POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 500\r\n\r\n" +
  '{"model":';

test("finding 4: a half-sent body gets 408 and is closed within the request timeout", async () => {
  const s = await serve(["--request-timeout", "1000"]);
  const body = stall(s.url, PARTIAL_BODY);
  const headers = stall(s.url, "POST /v1/completions HTTP/1.1\r\nhost: x\r\ncontent-le");
  const deadline = new Promise<never>((_, rej) =>
    setTimeout(() => rej(new Error("connection still open after 8 s")), 8_000),
  );
  for (const c of [body, headers]) {
    const { data, ms } = await Promise.race([c.closed, deadline]);
    assert.match(data, /^HTTP\/1\.1 408/, data);
    assert.ok(ms < 8_000, `${ms} ms`);
  }
  // The server still works.
  const h = await fetch(`${s.url}/health`, { signal: AbortSignal.timeout(5_000) });
  assert.equal(h.status, 200);
  await s.stop();
});

test("finding 4: SIGTERM drains within the drain timeout despite a stalled connection, then exits 0", async () => {
  const s = await serve(["--request-timeout", "600000", "--drain-timeout", "1000"]);
  const c = stall(s.url, PARTIAL_BODY);
  await new Promise((r) => setTimeout(r, 200));
  const t0 = performance.now();
  s.proc.kill("SIGTERM");
  const code = await Promise.race([
    s.exited,
    new Promise<string>((r) => setTimeout(() => r("still running after 10 s"), 10_000)),
  ]);
  assert.equal(code, 0);
  assert.ok(performance.now() - t0 < 10_000);
  await c.closed;
});
