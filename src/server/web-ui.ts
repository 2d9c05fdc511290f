/**
 * The chat page at `/` (and its scripts, kernels and the embedded model) — static files from
 * dist/web/ (built by scripts/build-web.mjs) and models/. Public routes: no API key, nothing
 * generated. Served with cross-origin isolation headers (COOP same-origin + COEP require-corp) so
 * the page's in-browser mode can share WASM memory with its worker threads, and with Range support
 * so GGUFs can be read piecewise and downloads resumed. Used by `edgellm serve` (registerWebUI, a
 * fastify app) and `edgellm web` (serveWebRequest on a plain node:http server, src/cli/web.ts).
 */
import { PUBLIC } from "./auth.js";
import { createReadStream, existsSync, readdirSync, statSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { extname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { FastifyInstance } from "fastify";

/** From <outDir>/src/server/ (dist/ or a .dist-* dir): <outDir>/web and the package's models/. */
export const WEB_ROOT = fileURLToPath(new URL("../../web/", import.meta.url));
export const MODELS_DIR = fileURLToPath(new URL("../../../models/", import.meta.url));

export const ISOLATION_HEADERS: Record<string, string> = {
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-embedder-policy": "require-corp",
  "cross-origin-resource-policy": "same-origin",
};

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".wasm": "application/wasm",
  ".map": "application/json",
  ".gguf": "application/octet-stream",
};

/** URL path -> file under the web root or models dir; undefined for anything else (no traversal: names only). */
export function resolveWebPath(
  urlPath: string,
  webRoot = WEB_ROOT,
  modelsDir = MODELS_DIR,
): string | undefined {
  let path: string;
  try {
    path = decodeURIComponent(urlPath.split("?")[0]!);
  } catch {
    return undefined; // malformed percent-encoding: not one of our files
  }
  const m = /^\/(models\/)?([\w.-]+)$/.exec(path === "/" ? "/index.html" : path);
  if (!m || m[2]!.startsWith(".")) return undefined;
  const file = join(m[1] ? modelsDir : webRoot, m[2]!);
  if (m[1] && extname(file) !== ".gguf") return undefined;
  return existsSync(file) && statSync(file).isFile() ? file : undefined;
}

/** Send a file with isolation headers, ETag, and single-range support (206 / 416). */
export function sendFile(
  req: IncomingMessage,
  res: ServerResponse,
  file: string,
  extra: Record<string, string> = {},
): void {
  const st = statSync(file);
  const size = st.size;
  const etag = `"${size.toString(16)}-${Math.floor(st.mtimeMs).toString(16)}"`;
  const headers: Record<string, string | number> = {
    ...ISOLATION_HEADERS,
    ...extra,
    "content-type": TYPES[extname(file)] ?? "application/octet-stream",
    "accept-ranges": "bytes",
    etag,
    "cache-control": extname(file) === ".gguf" ? "no-cache" : "no-store",
  };
  let start = 0;
  let end = size - 1;
  let status = 200;
  const range = req.headers.range;
  const ifRange = req.headers["if-range"];
  if (range && (!ifRange || ifRange === etag)) {
    const m = /^bytes=(\d*)-(\d*)$/.exec(range);
    if (m && (m[1] || m[2])) {
      if (m[1]) {
        start = Number(m[1]);
        end = m[2] ? Math.min(Number(m[2]), size - 1) : size - 1;
      } else {
        start = Math.max(0, size - Number(m[2]));
      }
      if (start >= size || start > end) {
        res.writeHead(416, { ...headers, "content-range": `bytes */${size}` }).end();
        return;
      }
      status = 206;
      headers["content-range"] = `bytes ${start}-${end}/${size}`;
    }
  }
  headers["content-length"] = end - start + 1;
  res.writeHead(status, headers);
  if (req.method === "HEAD" || size === 0) {
    res.end();
    return;
  }
  createReadStream(file, { start, end }).pipe(res);
}

/** Handle a GET/HEAD for the page or a model; false when the path is not one of ours. */
export function serveWebRequest(
  req: IncomingMessage,
  res: ServerResponse,
  webRoot = WEB_ROOT,
  modelsDir = MODELS_DIR,
): boolean {
  if (req.method !== "GET" && req.method !== "HEAD") return false;
  const file = resolveWebPath(req.url ?? "/", webRoot, modelsDir);
  if (!file) return false;
  sendFile(req, res, file);
  return true;
}

/**
 * Register the chat page on a fastify app: one GET route per file in dist/web/ (plus `/` and
 * /models/<name>.gguf, the embedded models only). Public routes (config PUBLIC, see auth.ts): the page
 * asks for the API key itself. Returns the paths registered
 * (none when dist/web/ was not built).
 */
export function registerWebUI(app: FastifyInstance, webRoot = WEB_ROOT, modelsDir = MODELS_DIR): string[] {
  if (!existsSync(join(webRoot, "index.html"))) return [];
  const files = readdirSync(webRoot).filter((f) => !f.startsWith("."));
  const paths = ["/", ...files.map((f) => `/${f}`), "/models/:name"];
  for (const p of paths) {
    app.get(p, { config: PUBLIC }, (req, reply) => {
      const file = resolveWebPath(req.url, webRoot, modelsDir);
      if (!file) return reply.callNotFound();
      reply.hijack();
      sendFile(req.raw, reply.raw, file);
    });
  }
  return paths;
}
