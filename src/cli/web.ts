/**
 * `edgellm web [--port 8081] [--host 127.0.0.1] [--no-isolation]`: serve the chat page with the
 * in-browser engine (static files only, no inference here): the model runs in the visitor's
 * browser, the embedded default model by default, or a GGUF from a URL or a picked file. The
 * page is cross-origin isolated (COOP/COEP) so the kernels use every core; --no-isolation serves
 * it without those headers (one thread), to try that mode.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Command } from "commander";
import { InputError } from "../errors.js";
import { ISOLATION_HEADERS, MODELS_DIR, WEB_ROOT, resolveWebPath, sendFile } from "../server/web-ui.js";
import { existsSync } from "node:fs";
import { join } from "node:path";

export interface WebServerOptions {
  port?: number;
  host?: string;
  webRoot?: string;
  modelsDir?: string;
  /** COOP/COEP headers (default true). */
  isolation?: boolean;
  /** Called first with every request; return true when it answered (tests: cut a download). */
  intercept?: (req: IncomingMessage, res: ServerResponse) => boolean;
}

export interface WebServer {
  server: Server;
  url: string;
  /** Every request seen: method, path, Range header. */
  log: { method: string; url: string; range?: string }[];
  close(): Promise<void>;
}

export async function startWebServer(o: WebServerOptions = {}): Promise<WebServer> {
  const webRoot = o.webRoot ?? WEB_ROOT;
  if (!existsSync(join(webRoot, "index.html")))
    throw new InputError(`the web page is not built (${webRoot} has no index.html)`, {
      hint: "run `npm run build`",
    });
  const log: WebServer["log"] = [];
  const server = createServer((req, res) => {
    log.push({ method: req.method ?? "", url: req.url ?? "", range: req.headers.range });
    if (o.intercept?.(req, res)) return;
    const file =
      req.method === "GET" || req.method === "HEAD"
        ? resolveWebPath(req.url ?? "/", webRoot, o.modelsDir ?? MODELS_DIR)
        : undefined;
    if (!file) {
      res
        .writeHead(404, { "content-type": "text/plain", ...(o.isolation === false ? {} : ISOLATION_HEADERS) })
        .end("not found\n");
      return;
    }
    const extra: Record<string, string> =
      o.isolation === false
        ? { "cross-origin-opener-policy": "unsafe-none", "cross-origin-embedder-policy": "unsafe-none" }
        : {};
    sendFile(req, res, file, extra);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(o.port ?? 8081, o.host ?? "127.0.0.1", () => resolve());
  });
  const a = server.address() as AddressInfo;
  return {
    server,
    url: `http://${a.address.includes(":") ? `[${a.address}]` : a.address}:${a.port}/`,
    log,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

export function register(program: Command): void {
  program
    .command("web")
    .description("serve the chat page that runs the model inside the browser (no server-side inference)")
    .option("--port <n>", "port (0 = any free port)", "8081")
    .option("--host <addr>", "address to listen on", "127.0.0.1")
    .option("--no-isolation", "omit the COOP/COEP headers (the page then runs on one thread)")
    .action(async (o: { port: string; host: string; isolation: boolean }) => {
      const port = Number(o.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535)
        throw new InputError(`--port must be 0..65535, got '${o.port}'`);
      const web = await startWebServer({ port, host: o.host, isolation: o.isolation });
      process.stderr.write(`edgellm web: open ${web.url} (the model runs in your browser; Ctrl+C stops)\n`);
      await new Promise<void>((resolve) => {
        const stop = () => void web.close().then(resolve);
        process.once("SIGINT", stop);
        process.once("SIGTERM", stop);
      });
    });
}
