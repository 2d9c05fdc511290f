/**
 * The engine in a dedicated Web Worker (bundled to dist/web/engine-worker.js): loads a GGUF from
 * a URL (through the OPFS cache, or by Range requests), a File or the cache, and streams chat
 * tokens back. The kernel pool's threads are nested workers of this one (host-web.ts), sharing the
 * kernels' WebAssembly memory when the page is cross-origin isolated; else one thread. No
 * inference request leaves the browser.
 */
import { loadLLM, type LLM } from "../engine/llm.js";
import { blobSource, httpSource, type ByteSource } from "../gguf/byte-source.js";
import { splitPartNames } from "../gguf/split-name.js";
import { ModelCache, type CachedModel } from "./model-cache.js";
import {
  toWire,
  type FromWorker,
  type LoadRequest,
  type ModelInfo,
  type ToWorker,
  type ChatRequest,
  type WeightReads,
} from "./protocol.js";

const scope = globalThis as unknown as {
  onmessage: ((e: MessageEvent<ToWorker>) => void) | null;
  postMessage(m: FromWorker): void;
};
const post = (m: FromWorker) => scope.postMessage(m);

let llm: LLM | undefined;
const running = new Map<number, AbortController>();
const cache = new ModelCache();

scope.onmessage = (e) => {
  const m = e.data;
  if (m.type === "load") void load(m);
  else if (m.type === "chat") void chat(m);
  else if (m.type === "abort") running.get(m.id)?.abort();
  else if (m.type === "unload") void llm?.close().then(() => (llm = undefined));
};

/** Whether the request may leave weights in the file (then the file needs synchronous reads). */
function readsLater(req: LoadRequest): boolean {
  return (
    (req.weights !== undefined && req.weights !== "resident") ||
    (req.experts !== undefined && req.experts !== "resident")
  );
}

/** A cached entry: synchronous reads (OPFS sync access handle) when weights stay in the file. */
async function cachedSource(req: LoadRequest, key: string, name: string): Promise<ByteSource> {
  return readsLater(req) ? cache.openSync(key, name) : blobSource(await cache.file(key), name);
}

function weightReads(l: LLM): WeightReads | undefined {
  const s = l.model.layerStream?.stats();
  const e = l.model.expertCache?.stats();
  if (!s && !e) return undefined;
  return {
    layerLoads: s?.loads ?? 0,
    expertHits: e?.hits ?? 0,
    expertMisses: e?.misses ?? 0,
    bytesRead: (s?.bytesRead ?? 0) + (e?.bytesRead ?? 0),
  };
}

function wasmBytes(l: LLM): number {
  const ks = l.kernels as { arena?: { memory: WebAssembly.Memory } } | undefined;
  return ks?.arena?.memory.buffer.byteLength ?? 0;
}

/**
 * The model's byte source(s): one, or every part of a split model (`x-00001-of-00003.gguf`: the
 * parts are found by name, downloaded into the cache one after the other, and read in order).
 */
async function openSource(
  req: LoadRequest,
): Promise<{ src: ByteSource[]; from: string; cached?: CachedModel }> {
  const s = req.source;
  if (s.kind === "file") return { src: [blobSource(s.file)], from: s.file.name };
  if (s.kind === "cached") {
    // a split model's parts are cached under split keys (cache/common.ts cacheKey)
    const keys = splitPartNames(`${s.key}.gguf`)?.map((k) => k.slice(0, -".gguf".length)) ?? [s.key];
    return {
      src: await Promise.all(keys.map((k) => cachedSource(req, k, k))),
      from: "cache",
    };
  }
  const urls = splitPartNames(s.url) ?? [s.url];
  if (s.cache === false) return { src: await Promise.all(urls.map((u) => httpSource(u))), from: s.url };
  const src: ByteSource[] = [];
  let cached: CachedModel | undefined;
  for (const u of urls) {
    const one = await cacheOne(req, u, urls.length === 1 ? s.sha256 : undefined);
    cached ??= one.cached;
    src.push(one.src);
  }
  return { src, from: s.url, cached };
}

async function cacheOne(
  req: LoadRequest,
  url: string,
  sha256?: string,
): Promise<{ src: ByteSource; cached: CachedModel }> {
  const cached = await cache.download(url, {
    sha256,
    onProgress: (p) =>
      post({
        type: "progress",
        phase: p.phase,
        fraction: p.total ? p.loaded / p.total : 0,
        loaded: p.loaded,
        total: p.total,
        resumedFrom: p.resumedFrom,
      }),
  });
  const name = url.split(/[?#]/)[0]!.split("/").pop() || cached.key;
  return { src: await cachedSource(req, cached.key, name), cached };
}

async function load(req: LoadRequest): Promise<void> {
  const t0 = performance.now();
  try {
    if (llm) {
      await llm.close();
      llm = undefined;
    }
    const { src, from, cached } = await openSource(req);
    const threads = req.threads ?? navigator.hardwareConcurrency ?? 1;
    // an OPFS sync access handle locks its file until closed: a failed load must let it go
    const closeAll = () => Promise.all(src.map((x) => x.close().catch(() => {})));
    llm = await loadLLM(src.length === 1 ? src[0]! : src, {
      threads,
      simd: req.simd,
      ...(req.maxMemory === undefined ? {} : { maxMemory: req.maxMemory }),
      ...(req.weights ? { weights: req.weights } : {}),
      ...(req.experts ? { experts: req.experts } : {}),
      ...(req.contextSize === undefined ? {} : { contextSize: req.contextSize }),
      ...(req.parallel === undefined ? {} : { parallel: req.parallel }),
      onProgress: (p) =>
        post({
          type: "progress",
          phase: p.phase,
          fraction: p.fraction,
          loaded: p.loadedBytes,
          total: p.totalBytes,
          tensor: p.tensor,
        }),
    }).catch(async (e: unknown) => {
      await closeAll();
      throw e;
    });
    const info: ModelInfo = {
      name: llm.name,
      kernels: llm.kernels?.name ?? "ts",
      threads: (llm.kernels as { threads?: number } | undefined)?.threads ?? 1,
      crossOriginIsolated: (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true,
      contextSize: llm.contextSize,
      fileBytes: src.reduce((a, x) => a + x.size, 0),
      wasmBytes: wasmBytes(llm),
      from,
      loadMs: performance.now() - t0,
    };
    const ls = llm.model.layerStream?.stats();
    if (ls) info.stream = { slots: ls.slots, pinned: ls.pinned, slotBytes: ls.slotBytes };
    const es = llm.model.expertCache?.stats();
    if (es) info.expertSlots = es.slots;
    post({ type: "loaded", info, cached });
  } catch (e) {
    post({ type: "error", error: toWire(e) });
  }
}

async function chat(req: ChatRequest): Promise<void> {
  if (!llm) {
    post({ type: "error", id: req.id, error: { name: "InputError", message: "no model loaded" } });
    return;
  }
  const ac = new AbortController();
  running.set(req.id, ac);
  const tokens: number[] = [];
  try {
    const prompt = req.tokens ?? llm.encodeChat(req.messages);
    const tail = llm.tokenizer.decode(prompt.slice(-8), { special: true });
    const startsInThinking = /<think>\s*$/.test(tail);
    for await (const c of llm.generate(prompt, {
      maxTokens: req.maxTokens ?? 256,
      temperature: req.temperature ?? 0,
      seed: req.seed,
      ignoreEos: req.ignoreEos,
      signal: ac.signal,
    })) {
      if (c.type === "token") {
        tokens.push(c.token);
        post({ type: "token", id: req.id, text: c.text, token: c.token });
      } else {
        post({
          type: "done",
          id: req.id,
          reason: c.reason,
          promptTokens: c.promptTokens,
          completionTokens: c.completionTokens,
          tokens,
          ttftMs: c.ttftMs,
          decodeMs: c.decodeMs,
          startsInThinking,
          wasmBytes: wasmBytes(llm),
          reads: weightReads(llm),
        });
      }
    }
  } catch (e) {
    post({ type: "error", id: req.id, error: toWire(e) });
  } finally {
    running.delete(req.id);
  }
}
