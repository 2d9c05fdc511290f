// Shared by the adversarial tests: an in-process server on a real loopback port (so raw HTTP the
// fetch API cannot send, e.g. absolute-form targets or half-sent bodies, reaches it) and a raw
// HTTP/1.1 client over node:net.
import { connect } from "node:net";
import { LLM } from "../../src/engine/llm.js";
import { buildServer, type EdgeServer, type ServerOptions } from "../../src/server/app.js";
import { SMALL, smallModel } from "../engine/helpers.js";
import type { TestModelSpec } from "../../src/model/factory/index.js";

export interface Live {
  srv: EdgeServer;
  llm: LLM;
  port: number;
  url: string;
  close(): Promise<void>;
}

export async function liveServer(opts: ServerOptions = {}, spec: TestModelSpec = SMALL): Promise<Live> {
  const m = await smallModel(spec);
  const llm = new LLM(m.model, m.tokenizer, undefined, { parallel: 4 });
  const srv = buildServer(llm, { modelId: "tiny", ...opts });
  await srv.app.listen({ port: 0, host: "127.0.0.1" });
  const port = (srv.app.server.address() as { port: number }).port;
  return {
    srv,
    llm,
    port,
    url: `http://127.0.0.1:${port}`,
    async close() {
      srv.app.server.closeAllConnections();
      await srv.app.close();
      await llm.close();
      m.cleanup();
    },
  };
}

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Sends `text` as-is and reads one response (the server closes, or the body is complete). */
export function raw(port: number, text: string | Buffer, timeoutMs = 10_000): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const s = connect(port, "127.0.0.1");
    let buf = Buffer.alloc(0);
    const t = setTimeout(() => {
      s.destroy();
      reject(new Error(`no complete response within ${timeoutMs} ms: ${buf.toString()}`));
    }, timeoutMs);
    const done = () => {
      const r = parse(buf);
      if (!r) return false;
      clearTimeout(t);
      s.destroy();
      resolve(r);
      return true;
    };
    s.on("data", (d) => {
      buf = Buffer.concat([buf, d]);
      done();
    });
    s.on("close", () => {
      if (!done()) {
        clearTimeout(t);
        reject(new Error(`connection closed without a response: ${buf.toString()}`));
      }
    });
    s.on("error", () => {});
    s.write(text);
  });
}

function parse(buf: Buffer): RawResponse | undefined {
  const i = buf.indexOf("\r\n\r\n");
  if (i < 0) return undefined;
  const lines = buf.subarray(0, i).toString("latin1").split("\r\n");
  const status = Number(lines[0].split(" ")[1]);
  const headers: Record<string, string> = {};
  for (const l of lines.slice(1)) {
    const k = l.indexOf(":");
    headers[l.slice(0, k).trim().toLowerCase()] = l.slice(k + 1).trim();
  }
  let body = buf.subarray(i + 4);
  if (headers["content-length"] !== undefined) {
    const n = Number(headers["content-length"]);
    if (body.length < n) return undefined;
    body = body.subarray(0, n);
  } else if (headers["transfer-encoding"] === "chunked") {
    if (!body.toString("latin1").endsWith("0\r\n\r\n")) return undefined;
  }
  return { status, headers, body: body.toString("utf8") };
}

/** A request line + headers (+ body with its content-length) as raw HTTP/1.1 text. */
export function request(
  method: string,
  target: string,
  headers: Record<string, string> = {},
  body?: string | Buffer,
): Buffer {
  const h: Record<string, string> = { host: "127.0.0.1", connection: "close", ...headers };
  if (body !== undefined) h["content-length"] = String(Buffer.byteLength(body));
  const head = `${method} ${target} HTTP/1.1\r\n${Object.entries(h)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join("")}\r\n`;
  return Buffer.concat([
    Buffer.from(head, "latin1"),
    body === undefined ? Buffer.alloc(0) : Buffer.from(body),
  ]);
}
