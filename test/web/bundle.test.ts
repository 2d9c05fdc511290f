/**
 * The isomorphic entry (`edgellm`, src/index.ts) bundles for the browser with esbuild and pulls in
 * no Node builtin (node:* or bare fs/path/...), no Buffer and no server/CLI/MCP package; in Node
 * it loads no fastify, commander or MCP code either.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { builtinModules } from "node:module";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const ENTRY = `${ROOT}src/index.ts`;
const NODE_ONLY_PACKAGES = [
  "fastify",
  "commander",
  "@modelcontextprotocol",
  "prom-client",
  "cli-progress",
  "quickjs-emscripten",
];

function packagesOf(inputs: string[]): string[] {
  const names = inputs
    .filter((i) => i.includes("node_modules/"))
    .map((i) => {
      const parts = i.split("node_modules/").pop()!.split("/");
      return parts[0]!.startsWith("@") ? `${parts[0]}/${parts[1]}` : parts[0]!;
    });
  return [...new Set(names)];
}

test("the main entry bundles for the browser with no Node builtin, no Buffer, no Node-only package", async () => {
  const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));
  const seen: string[] = [];
  const r = await esbuild.build({
    entryPoints: [ENTRY],
    bundle: true,
    platform: "browser",
    format: "esm",
    target: "es2022",
    write: false,
    metafile: true,
    logLevel: "silent",
    plugins: [
      {
        name: "record-builtins",
        setup(b) {
          b.onResolve({ filter: /.*/ }, (a) => {
            if (a.path.startsWith("node:") || builtins.has(a.path)) {
              seen.push(`${a.path} (from ${a.importer.slice(ROOT.length)})`);
              return { path: a.path, external: true };
            }
            return undefined;
          });
        },
      },
    ],
  });
  assert.deepEqual(seen, [], `Node builtins reached from the main entry:\n${seen.join("\n")}`);
  const pkgs = packagesOf(Object.keys(r.metafile.inputs));
  for (const p of NODE_ONLY_PACKAGES)
    assert.ok(!pkgs.some((x) => x.startsWith(p)), `browser bundle contains ${p}`);
  const code = new TextDecoder().decode(r.outputFiles[0]!.contents);
  const buffers = code
    .split("\n")
    .filter((l) => /(^|[^\w.$])Buffer\.(from|alloc|byteLength|concat|isBuffer)\b/.test(l));
  assert.deepEqual(buffers, [], "Node's Buffer is used in the browser bundle");
});

test("importing edgellm in Node loads no fastify, commander or MCP code", async () => {
  const r = await esbuild.build({
    entryPoints: [ENTRY],
    bundle: true,
    platform: "node",
    format: "esm",
    write: false,
    metafile: true,
    logLevel: "silent",
    packages: "bundle",
  });
  const pkgs = packagesOf(Object.keys(r.metafile.inputs));
  for (const p of NODE_ONLY_PACKAGES)
    assert.ok(!pkgs.some((x) => x.startsWith(p)), `main entry loads ${p} in Node`);
});

test("edgellm/node still carries tools, router and server", async () => {
  const node = await import("../../src/node.js");
  assert.equal(typeof node.loadLLM, "function");
  assert.equal(typeof node.tools.ToolSet, "function");
  assert.equal(typeof node.router.createRouter, "function");
  assert.equal(typeof node.server.buildServer, "function");
  const main = await import("../../src/index.js");
  assert.equal("tools" in main, false);
});

test("importing edgellm in Node resolves no fastify, commander, MCP or other Node-only package (module hooks)", async () => {
  // A child process with a resolve hook that reports every URL resolved while `import("edgellm")`
  // (dist/src/index.js) loads: what actually loads at run time, dynamic imports at load included.
  const { spawnSync } = await import("node:child_process");
  const entry = new URL("../../src/index.js", import.meta.url).href;
  const hook = encodeURIComponent(
    "let port; export async function initialize(d) { port = d.port; }" +
      " export async function resolve(s, c, next) { const r = await next(s, c); port.postMessage(r.url); return r; }",
  );
  const script = `
    import { register } from "node:module";
    import { MessageChannel } from "node:worker_threads";
    const { port1, port2 } = new MessageChannel();
    const seen = [];
    port1.on("message", (u) => seen.push(u));
    register("data:text/javascript,${hook}", { data: { port: port2 }, transferList: [port2] });
    const m = await import(${JSON.stringify(entry)});
    if (typeof m.loadLLM !== "function") throw new Error("no loadLLM");
    await new Promise((r) => setTimeout(r, 200));
    port1.close();
    console.log(JSON.stringify(seen));
  `;
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  const urls = JSON.parse(r.stdout.trim().split("\n").pop()!) as string[];
  assert.ok(
    urls.some((u) => u.endsWith("/src/engine/llm.js")),
    `the hook saw the library load (${urls.length} URLs)`,
  );
  const pkgs = packagesOf(urls.filter((u) => u.startsWith("file:")).map((u) => fileURLToPath(u)));
  for (const p of NODE_ONLY_PACKAGES)
    assert.ok(!pkgs.some((x) => x.startsWith(p)), `import("edgellm") loaded ${p}: ${pkgs.join(", ")}`);
  // server/openai/errors.js (plain error types) is reached through reasoning/ and train's split:
  // a layering violation scripts/check-deps.mjs lists as known; it loads no server package.
  // (tools/ and router/ hold isomorphic parts too: call formats, the calculator; those may load.)
  const nodeOnly = urls.filter(
    (u) => /\/src\/(cli|server)\//.test(u) && !u.endsWith("/src/server/openai/errors.js"),
  );
  assert.deepEqual(nodeOnly, [], "Node-only edgellm modules loaded");
});
