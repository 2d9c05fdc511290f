// A static server for the example: the page at /, the browser bundles (dist/web/) at /edgellm/,
// the embedded models at /models/; cross-origin isolated (COOP/COEP) so the kernel threads work,
// with Range requests for the models. `node examples/browser/serve.mjs [port]` (default 8090).
import { createReadStream, existsSync, statSync } from "node:fs";
import { createServer } from "node:http";
import { extname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";

const here = fileURLToPath(new URL(".", import.meta.url));
const root = join(here, "..", "..");
const MOUNTS = [
  ["/edgellm/", join(root, "dist", "web")],
  ["/models/", join(root, "models")],
  ["/", here],
];
const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript",
  ".mjs": "text/javascript",
  ".css": "text/css",
  ".wasm": "application/wasm",
  ".map": "application/json",
};

export function startExampleServer(port = 8090, host = "127.0.0.1") {
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname);
    const [prefix, dir] = MOUNTS.find(([p]) => path.startsWith(p));
    const rel = normalize(path.slice(prefix.length) || "index.html");
    const file = join(dir, rel);
    const headers = {
      "cross-origin-opener-policy": "same-origin",
      "cross-origin-embedder-policy": "require-corp",
      "cross-origin-resource-policy": "same-origin",
      "accept-ranges": "bytes",
      "content-type": TYPES[extname(file)] ?? "application/octet-stream",
    };
    if (rel.startsWith("..") || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404, headers).end("not found\n");
      return;
    }
    const size = statSync(file).size;
    const m = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? "");
    if (m) {
      const start = Number(m[1]);
      const end = m[2] ? Math.min(Number(m[2]), size - 1) : size - 1;
      if (start >= size) {
        res.writeHead(416, { ...headers, "content-range": `bytes */${size}` }).end();
        return;
      }
      res.writeHead(206, {
        ...headers,
        "content-length": end - start + 1,
        "content-range": `bytes ${start}-${end}/${size}`,
      });
      createReadStream(file, { start, end }).pipe(res);
    } else {
      res.writeHead(200, { ...headers, "content-length": size });
      createReadStream(file).pipe(res);
    }
  });
  return new Promise((resolve) =>
    server.listen(port, host, () => resolve({ server, url: `http://${host}:${server.address().port}/` })),
  );
}

if (process.argv[1] && fileURLToPath(import.meta.url) === normalize(process.argv[1])) {
  const { url } = await startExampleServer(Number(process.argv[2] ?? 8090));
  console.log(`edgellm browser example at ${url}`);
}
