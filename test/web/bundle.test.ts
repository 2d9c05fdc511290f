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
