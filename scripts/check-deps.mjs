// Layering and cycle check for src/ (part of `npm run lint`): `node scripts/check-deps.mjs [--graph]`.
//
// Why a script and not dependency-cruiser: dependency-cruiser 17 parses TypeScript only through the
// `typescript` package and supports ">=2.0.0 <7.0.0" (`npx depcruise --info`, measured 2026-12);
// we build with TypeScript 7, whose npm package has no JS compiler API to parse with. So this reads
// the module specifiers of import/export-from lines, side-effect imports and dynamic import("...")
// with regular expressions (type-only imports count: a type dependency is still a layering one).
//
// Rules (DESIGN.md, "Layers and where they live"):
//   cycles       no file-level import cycle and no folder-level cycle between src/<folder>s;
//   commander    only src/cli/ imports it;  fastify: only src/server/ imports it;
//   node-only    cli/ and server/ are Node-only hosts: nothing outside cli/ imports cli/, nothing
//                outside cli/ and server/ imports server/;
//   core         the core that runs anywhere (gguf quant kernels model kv tokenizer sampling engine
//                verify, errors.ts, json.ts) imports none of router/ reasoning/ tools/ train/ cli/
//                server/ statically (verify's js-tests loads the tools sandbox by dynamic import).
// KNOWN lists violations that wait on other branches; each must still occur (an entry that no
// longer does is an error, so the list only shrinks). It is empty now: a new violation is an error.
import fs from "node:fs";
import path from "node:path";

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");
const SRC = path.join(ROOT, "src");
const CORE = new Set([
  "gguf",
  "quant",
  "kernels",
  "model",
  "kv",
  "tokenizer",
  "sampling",
  "engine",
  "verify",
  "errors.ts",
  "json.ts",
  "vision",
]);
const ABOVE_CORE = new Set(["router", "reasoning", "tools", "train", "cli", "server"]);
const ONLY_IN = { commander: "cli", fastify: "server" };

// Violations that other branches are removing; empty since the modules branch broke the last cycles.
const KNOWN = new Set([]);

function walk(dir, out = []) {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else if (e.name.endsWith(".ts") && !e.name.endsWith(".d.ts")) out.push(p);
  }
  return out;
}

const STATIC = /^[ \t]*(?:import|export)\b[^;'"]*?\bfrom\s*["']([^"']+)["']/gm;
const SIDE_EFFECT = /^[ \t]*import\s*["']([^"']+)["']/gm;
const DYNAMIC = /\bimport\(\s*["']([^"']+)["']\s*\)/g;

/** Module specifiers of a file: [{spec, dynamic}]. */
function specifiers(text) {
  const out = [];
  for (const re of [STATIC, SIDE_EFFECT])
    for (const m of text.matchAll(re)) out.push({ spec: m[1], dynamic: false });
  for (const m of text.matchAll(DYNAMIC)) out.push({ spec: m[1], dynamic: true });
  return out;
}

function resolve(from, spec) {
  if (!spec.startsWith(".")) return undefined;
  const abs = path.resolve(path.dirname(from), spec);
  for (const c of [abs.replace(/\.js$/, ".ts"), abs + ".ts", path.join(abs, "index.ts")])
    if (fs.existsSync(c)) return c;
  return undefined;
}

const rel = (f) => path.relative(SRC, f).split(path.sep).join("/");
const folder = (r) => r.split("/")[0];
const pkgName = (s) => (s.startsWith("@") ? s.split("/").slice(0, 2).join("/") : s.split("/")[0]);

const files = walk(SRC).sort();
const graph = new Map(); // rel -> Set(rel) (static edges only: dynamic imports load lazily)
const found = [];
for (const f of files) {
  const r = rel(f);
  const edges = new Set();
  graph.set(r, edges);
  for (const { spec, dynamic } of specifiers(fs.readFileSync(f, "utf8"))) {
    const target = resolve(f, spec);
    if (spec.startsWith(".") && !target) {
      found.push(`unresolved: ${r} imports ${spec}`);
      continue;
    }
    if (!target) {
      const pkg = pkgName(spec);
      if (ONLY_IN[pkg] && folder(r) !== ONLY_IN[pkg]) found.push(`${pkg}: ${r} imports ${pkg}`);
      continue;
    }
    const t = rel(target);
    if (!dynamic) edges.add(t);
    const [fa, fb] = [folder(r), folder(t)];
    // src/node.ts is the Node entry (edgellm/node): it may re-export the Node-only hosts.
    if (r === "node.ts") continue;
    if (fb === "cli" && fa !== "cli") found.push(`node-only: ${r} imports ${t}`);
    if (fb === "server" && fa !== "server" && fa !== "cli") found.push(`node-only: ${r} imports ${t}`);
    if (!dynamic && CORE.has(fa) && ABOVE_CORE.has(fb)) found.push(`core: ${r} imports ${t}`);
  }
}

// File-level cycles: strongly connected components (Tarjan), each reported as one cycle path.
function sccs(g) {
  let index = 0;
  const idx = new Map(),
    low = new Map(),
    on = new Set(),
    stack = [],
    out = [];
  const visit = (v) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of g.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v), low.get(w)));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)));
    }
    if (low.get(v) === idx.get(v)) {
      const c = [];
      let w;
      do {
        w = stack.pop();
        on.delete(w);
        c.push(w);
      } while (w !== v);
      if (c.length > 1 || g.get(v)?.has(v)) out.push(c.sort());
    }
  };
  for (const v of [...g.keys()].sort()) if (!idx.has(v)) visit(v);
  return out;
}

/** A shortest cycle through the first node of an SCC, as "a -> b -> a". */
function cyclePath(g, comp) {
  const inC = new Set(comp);
  const start = comp[0];
  const prev = new Map([[start, null]]);
  const q = [start];
  while (q.length) {
    const v = q.shift();
    for (const w of g.get(v) ?? []) {
      if (!inC.has(w)) continue;
      if (w === start) {
        const p = [start];
        for (let x = v; x !== start; x = prev.get(x)) p.splice(1, 0, x);
        return [...p, start].join(" -> ");
      }
      if (!prev.has(w)) {
        prev.set(w, v);
        q.push(w);
      }
    }
  }
  return comp.join(" -> ");
}

const paths = new Map(); // cycle key -> one cycle path, for the message
for (const c of sccs(graph)) {
  const key = `cycle: ${c.join(", ")}`;
  found.push(key);
  paths.set(key, cyclePath(graph, c));
}

const folders = new Map();
for (const [a, es] of graph) {
  const fa = folder(a);
  if (!folders.has(fa)) folders.set(fa, new Set());
  for (const b of es) if (folder(b) !== fa) folders.get(fa).add(folder(b));
}
for (const c of sccs(folders)) {
  // name each two-folder cycle inside the component
  for (const a of c)
    for (const b of c)
      if (a < b && folders.get(a).has(b) && folders.get(b).has(a)) found.push(`folder cycle: ${a} <-> ${b}`);
  if (!c.some((a) => c.some((b) => a < b && folders.get(a).has(b) && folders.get(b).has(a))))
    found.push(`folder cycle: ${cyclePath(folders, c)}`);
}

if (process.argv.includes("--graph"))
  for (const [a, es] of [...folders].sort()) console.log(`${a} -> ${[...es].sort().join(" ")}`);

const unique = [...new Set(found)].sort();
const errors = unique.filter((v) => !KNOWN.has(v));
const stale = [...KNOWN].filter((k) => !unique.includes(k));
const known = unique.length - errors.length;
for (const e of errors) console.error(`error  ${e}${paths.has(e) ? ` (${paths.get(e)})` : ""}`);
for (const s of stale) console.error(`stale  KNOWN entry no longer occurs (remove it): ${s}`);
console.log(
  `check-deps: ${files.length} files, ${errors.length} errors, ${known} known (waiting on other branches), ${stale.length} stale`,
);
process.exit(errors.length || stale.length ? 1 : 0);
