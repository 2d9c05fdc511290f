/**
 * `edgellm pull <url> [--sha256 <hex>]`: download a GGUF into the model cache ($EDGELLM_CACHE, or
 * ~/.cache/edgellm) with a progress bar, resuming an interrupted download by HTTP Range; prints
 * the cached file's path. `-m <url>` on run/chat/serve/bench/eval/logits/tokenize does the same
 * first (no request at all once the model is cached). A split model (`x-00001-of-00003.gguf`)
 * pulls every part. A Hugging Face `resolve` URL works like any
 * other; $HF_TOKEN, when set, is sent as a bearer token to huggingface.co only.
 * `edgellm cache list|rm <url|key>|dir`: what is cached, its size, and removing it.
 */
import type { Command } from "commander";
import { SingleBar } from "cli-progress";
import { InputError } from "../errors.js";
import { isHttpUrl, type CachedModel, type DownloadProgress } from "../cache/common.js";
import { NodeModelCache } from "../cache/node-cache.js";
import { splitPartNames } from "../gguf/split-name.js";

const MiB = 1 << 20;
const mib = (n: number) => `${(n / MiB).toFixed(1)} MiB`;

export interface PullOptions {
  sha256?: string;
  cacheDir?: string;
  /** Where the bar and the summary line go (default stderr; the bar only on a terminal). */
  stream?: NodeJS.WriteStream;
}

/**
 * Download `url` into the cache (or find it there) and return the local file's path. A split
 * model's URL (any part, `…-00002-of-00003.gguf`) pulls every part and returns the first's path
 * (the others are cached beside it under split names, so opening it finds them).
 */
export async function pullModel(url: string, o: PullOptions = {}): Promise<string> {
  if (!isHttpUrl(url)) throw new InputError(`not an http(s) URL: '${url}'`, { field: "url" });
  const parts = splitPartNames(url);
  if (!parts) return pullOne(url, o);
  if (o.sha256) throw new InputError("--sha256 checks one file; a split model has several parts");
  const paths: string[] = [];
  for (const p of parts) paths.push(await pullOne(p, o));
  return paths[0]!;
}

async function pullOne(url: string, o: PullOptions): Promise<string> {
  const stream = o.stream ?? process.stderr;
  const cache = new NodeModelCache({ dir: o.cacheDir });
  const bar = new SingleBar({
    format: "pull [{bar}] {percentage}% | {done}/{size} | {rate} {note}",
    hideCursor: true,
    clearOnComplete: true,
    stream,
    barsize: 30,
  });
  let started = false;
  let resumedFrom: number | undefined;
  const t0 = performance.now();
  let rate = "";
  const onProgress = (p: DownloadProgress) => {
    if (p.phase === "cached") return;
    if (p.resumedFrom !== undefined) resumedFrom = p.resumedFrom;
    const total = Math.max(p.total, p.loaded, 1);
    const s = (performance.now() - t0) / 1000;
    const payload = {
      done: mib(p.loaded),
      size: p.total ? mib(p.total) : "?",
      rate: (rate = p.phase === "download" && s > 0 ? `${(p.fetched / MiB / s).toFixed(1)} MiB/s` : rate),
      note: p.phase === "verify" ? "verifying" : resumedFrom ? `(resumed at ${mib(resumedFrom)})` : "",
    };
    if (!started) {
      bar.start(total, p.loaded, payload);
      started = true;
    } else {
      bar.setTotal(total);
      bar.update(p.loaded, payload);
    }
  };
  const host = new URL(url).hostname;
  const headers: Record<string, string> = {};
  if (process.env.HF_TOKEN && (host === "huggingface.co" || host.endsWith(".huggingface.co")))
    headers.authorization = `Bearer ${process.env.HF_TOKEN}`;
  let m: CachedModel;
  try {
    m = await cache.download(url, { onProgress, sha256: o.sha256, headers });
  } finally {
    if (started) bar.stop();
  }
  const path = cache.path(m.key);
  const how = !started
    ? "cached"
    : resumedFrom !== undefined
      ? `downloaded, resumed at ${mib(resumedFrom)}`
      : "downloaded";
  stream.write(`${url}: ${how}, ${mib(m.size)} at ${path}\n`);
  return path;
}

export function register(program: Command): void {
  program
    .command("pull")
    .description("download a GGUF from a URL into the model cache (resumable); prints its path")
    .argument("<url>", "http(s) URL of a .gguf file (e.g. a Hugging Face .../resolve/main/x.gguf)")
    .option("--sha256 <hex>", "expected sha256 of the file (checked after the download)")
    .option("--cache-dir <dir>", "cache root (default: $EDGELLM_CACHE or ~/.cache/edgellm)")
    .action(async (url: string, o: { sha256?: string; cacheDir?: string }) => {
      if (o.sha256 !== undefined && !/^[0-9a-f]{64}$/i.test(o.sha256))
        throw new InputError(`--sha256 must be 64 hex digits, got '${o.sha256}'`, { field: "sha256" });
      const path = await pullModel(url, o);
      process.stdout.write(`${path}\n`);
    });

  const cache = program
    .command("cache")
    .description("list, size and remove models in the model cache")
    .option("--cache-dir <dir>", "cache root (default: $EDGELLM_CACHE or ~/.cache/edgellm)");
  const dirOf = () => (cache.opts() as { cacheDir?: string }).cacheDir;
  cache
    .command("list", { isDefault: true })
    .description("every cached model: size, complete or partial, URL")
    .option("--json", "print JSON")
    .action(async (o: { json?: boolean }) => {
      const c = new NodeModelCache({ dir: dirOf() });
      const all = await c.list();
      if (o.json) {
        process.stdout.write(`${JSON.stringify(all.map((m) => ({ ...m, path: c.path(m.key) })))}\n`);
        return;
      }
      if (all.length === 0) process.stdout.write(`no cached models in ${c.dir}\n`);
      for (const m of all) {
        const state = m.complete ? "complete" : `partial ${mib(m.stored)} of ${m.size ? mib(m.size) : "?"}`;
        process.stdout.write(`${m.key}\t${mib(m.complete ? m.size : m.stored)}\t${state}\t${m.url}\n`);
      }
      const total = all.reduce((a, m) => a + m.stored, 0);
      if (all.length > 0) process.stdout.write(`${all.length} model(s), ${mib(total)} in ${c.dir}\n`);
    });
  cache
    .command("rm")
    .description("remove a cached model (complete or partial) by URL or key")
    .argument("<url-or-key>")
    .action(async (what: string) => {
      const c = new NodeModelCache({ dir: dirOf() });
      if (!(await c.delete(what)))
        throw new InputError(`no cached model '${what}'`, { hint: "see `edgellm cache list`" });
      process.stdout.write(`removed ${what}\n`);
    });
  cache
    .command("dir")
    .description("print the cache directory")
    .action(() => {
      process.stdout.write(`${new NodeModelCache({ dir: dirOf() }).dir}\n`);
    });
}
