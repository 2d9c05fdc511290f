/**
 * The chat page (dist/web/app.js), one UI for both modes:
 *   browser  the engine runs in a Web Worker on this machine (engine-worker.ts): the embedded
 *            default model, a GGUF from a URL (cached in OPFS, resumable) or a picked file
 *   server   talks to the OpenAI API of the `edgellm serve` that served this page (streaming)
 * The mode defaults to "server" when /v1/models answers, else "browser". URL parameters for
 * tests and links: mode, model (a URL), simd (auto|relaxed|simd128), threads.
 */
import { WorkerEngine } from "../client.js";
import { ModelCache, type CachedModel } from "../model-cache.js";
import type { ModelInfo, ProgressEvent } from "../protocol.js";
import { ReasoningSplitter } from "../../reasoning/split.js";
import type { ChatMessage } from "../../tokenizer/chat-template.js";

const DEFAULT_MODEL = new URL("models/edgellm-default-q8_0.gguf", location.href).href;
const params = new URLSearchParams(location.search);
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

const ui = {
  mode: $<HTMLSelectElement>("mode"),
  badge: $("badge"),
  modelPanel: $("model-panel"),
  serverPanel: $("server-panel"),
  modelSelect: $<HTMLSelectElement>("model-select"),
  modelUrl: $<HTMLInputElement>("model-url"),
  modelFile: $<HTMLInputElement>("model-file"),
  load: $<HTMLButtonElement>("load"),
  progress: $<HTMLProgressElement>("progress"),
  progressText: $("progress-text"),
  status: $("status"),
  cacheList: $("cache-list"),
  apiKey: $<HTMLInputElement>("api-key"),
  serverModel: $("server-model"),
  error: $("error"),
  chat: $("chat"),
  composer: $<HTMLFormElement>("composer"),
  prompt: $<HTMLTextAreaElement>("prompt"),
  send: $<HTMLButtonElement>("send"),
  stop: $<HTMLButtonElement>("stop"),
  stats: $("stats"),
};

const history: ChatMessage[] = [];
let engine: WorkerEngine | undefined;
let info: ModelInfo | undefined;
let serverModel: string | undefined;
let busy: AbortController | undefined;
const cache = new ModelCache();

const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;

function showError(msg: string | undefined): void {
  ui.error.hidden = !msg;
  ui.error.textContent = msg ?? "";
}

function setReady(): void {
  const ready = ui.mode.value === "server" ? serverModel !== undefined : info !== undefined;
  ui.send.disabled = !ready || busy !== undefined;
  ui.stop.disabled = busy === undefined;
  document.body.dataset.ready = String(ready);
}

/** A download/load error as the user should read it. */
function describe(e: unknown): string {
  const err = e as Error & { code?: string };
  switch (err.code) {
    case "not-found":
      return `Model not found (HTTP 404). Check the URL.\n${err.message}`;
    case "network":
      return `The download failed: the network broke, or the server does not allow this page to read it (CORS). Press Load again to resume.\n${err.message}`;
    case "cors":
      return `This page is not allowed to read the model from that server (CORS). The server must send Access-Control-Allow-Origin, or host the model on this site.\n${err.message}`;
    case "quota":
      return `Not enough browser storage for this model. Delete cached models below, or allow this site more storage.\n${err.message}`;
    case "not-gguf":
      return `That file is not a GGUF model.\n${err.message}`;
    default:
      return err.message ?? String(e);
  }
}

function onProgress(p: ProgressEvent): void {
  const dl = p.phase === "download" || p.phase === "verify" || p.phase === "cached";
  ui.progress.value = p.fraction;
  const bytes = p.total ? ` ${mib(p.loaded ?? 0)} / ${mib(p.total)}` : "";
  const label: Record<string, string> = {
    download: "Downloading",
    verify: "Verifying",
    cached: "In cache",
    open: "Opening",
    kernels: "Starting kernels",
    weights: "Loading weights",
    bind: "Binding",
    ready: "Ready",
  };
  ui.progressText.textContent = `${label[p.phase] ?? p.phase}${dl ? bytes : p.tensor ? ` (${p.tensor})` : ""}${p.resumedFrom ? ` — resumed at ${mib(p.resumedFrom)}` : ""}`;
  document.body.dataset.phase = p.phase;
}

let cacheListing = 0;
async function refreshCache(): Promise<void> {
  // Listings can overlap (page start, end of a load): only the latest one may write the list, or a
  // slow listing taken before a download finished would put back "none".
  const mine = ++cacheListing;
  let list: CachedModel[] = [];
  try {
    list = await cache.list();
  } catch {
    /* no OPFS: nothing cached */
  }
  if (mine !== cacheListing) return;
  ui.cacheList.replaceChildren(
    ...list.map((m) => {
      const li = document.createElement("li");
      li.textContent = `${m.url.split("/").pop()} — ${mib(m.stored)}${m.complete ? "" : ` of ${mib(m.size)} (partial)`}`;
      const del = document.createElement("button");
      del.textContent = "Delete";
      del.onclick = async () => {
        await cache.delete(m.key);
        await refreshCache();
      };
      li.append(del);
      return li;
    }),
  );
  if (list.length === 0) ui.cacheList.innerHTML = "<li>none</li>";
}

async function loadModel(): Promise<void> {
  showError(undefined);
  info = undefined;
  setReady();
  engine ??= new WorkerEngine(new URL("./engine-worker.js", import.meta.url));
  const sel = ui.modelSelect.value;
  const url = sel === "url" ? ui.modelUrl.value.trim() : DEFAULT_MODEL;
  const file = ui.modelFile.files?.[0];
  if (sel === "file" && !file) return showError("Pick a .gguf file first.");
  if (sel === "url" && !url) return showError("Enter the model's URL first.");
  ui.load.disabled = true;
  try {
    const simd = params.get("simd") as "auto" | "relaxed" | "simd128" | null;
    const threads = params.get("threads") ? Number(params.get("threads")) : undefined;
    info = await engine.load(
      sel === "file" ? { kind: "file", file: file! } : { kind: "url", url },
      onProgress,
      { simd: simd ?? undefined, threads },
    );
    ui.progress.value = 1;
    ui.progressText.textContent = `Loaded in ${(info.loadMs / 1000).toFixed(1)} s`;
    ui.status.textContent = `${info.name} · ${mib(info.fileBytes)} · ${info.kernels} · ${info.threads} thread${info.threads > 1 ? "s" : ""}${info.crossOriginIsolated ? "" : " (page not cross-origin isolated: one thread)"} · context ${info.contextSize}`;
    document.body.dataset.kernels = info.kernels;
    document.body.dataset.threads = String(info.threads);
  } catch (e) {
    showError(describe(e));
    document.body.dataset.phase = "error";
  } finally {
    ui.load.disabled = false;
    setReady();
    void refreshCache();
  }
}

/** One assistant bubble: collapsible thinking, streamed content, a stats line. */
function bubble(role: "user" | "assistant", text = "") {
  const div = document.createElement("div");
  div.className = `msg ${role}`;
  const thinking = document.createElement("details");
  thinking.className = "thinking";
  thinking.hidden = true;
  thinking.innerHTML = "<summary>Thinking…</summary>";
  const thinkText = document.createElement("div");
  thinking.append(thinkText);
  const content = document.createElement("div");
  content.className = "content";
  content.textContent = text;
  const meta = document.createElement("div");
  meta.className = "meta";
  div.append(thinking, content, meta);
  ui.chat.append(div);
  ui.chat.scrollTop = ui.chat.scrollHeight;
  let splitter: ReasoningSplitter | undefined;
  return {
    div,
    start(startsInThinking: boolean) {
      splitter = new ReasoningSplitter(startsInThinking);
    },
    push(delta: string, reasoning = "") {
      splitter ??= new ReasoningSplitter(false);
      const p = splitter.push(delta);
      const r = reasoning + p.reasoning;
      if (r) {
        thinking.hidden = false;
        thinkText.textContent += r;
      }
      content.textContent += p.content;
      ui.chat.scrollTop = ui.chat.scrollHeight;
    },
    end(stats: string) {
      const p = splitter?.flush();
      if (p?.reasoning) thinkText.textContent += p.reasoning;
      if (p?.content) content.textContent += p.content;
      content.textContent = (content.textContent ?? "").replace(/^\s+/, "");
      thinking.querySelector("summary")!.textContent = "Thinking";
      meta.textContent = stats;
    },
    get text() {
      return content.textContent ?? "";
    },
  };
}

function speed(tokens: number, ms: number): string {
  return ms > 0 ? `${((tokens * 1000) / ms).toFixed(1)} tok/s` : "";
}

async function sendBrowser(b: ReturnType<typeof bubble>, ac: AbortController): Promise<void> {
  let first = true;
  for await (const ev of engine!.chat(history, {
    maxTokens: Number(params.get("maxTokens") ?? 256),
    temperature: 0,
    signal: ac.signal,
  })) {
    if (ev.type === "token") {
      if (first) first = false;
      b.push(ev.text);
    } else {
      const tps = speed(Math.max(0, ev.completionTokens - 1), ev.decodeMs);
      b.div.dataset.tokens = ev.tokens.join(",");
      b.end(`${ev.completionTokens} tokens · ${tps} · first token ${ev.ttftMs.toFixed(0)} ms · ${ev.reason}`);
      ui.stats.textContent = `${tps} · prompt ${ev.promptTokens} tokens · WASM memory ${mib(ev.wasmBytes)} · ${info?.kernels} × ${info?.threads}`;
    }
  }
}

async function sendServer(b: ReturnType<typeof bubble>, ac: AbortController): Promise<void> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (ui.apiKey.value) headers.authorization = `Bearer ${ui.apiKey.value}`;
  const t0 = performance.now();
  const res = await fetch("v1/chat/completions", {
    method: "POST",
    headers,
    signal: ac.signal,
    body: JSON.stringify({
      model: serverModel,
      messages: history,
      stream: true,
      max_tokens: Number(params.get("maxTokens") ?? 256),
      temperature: 0,
      stream_options: { include_usage: true },
    }),
  });
  if (res.status === 401)
    throw new Error(
      ui.apiKey.value
        ? "The API key was refused (HTTP 401): check it and send again."
        : "This server needs an API key: enter it above and send again.",
    );
  if (!res.ok) throw new Error(`HTTP ${res.status}: ${(await res.text()).slice(0, 300)}`);
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  let n = 0;
  let tFirst = 0;
  let usage: { completion_tokens?: number; prompt_tokens?: number } | undefined;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    buf += value;
    let i: number;
    while ((i = buf.indexOf("\n\n")) >= 0) {
      const ev = buf.slice(0, i);
      buf = buf.slice(i + 2);
      for (const line of ev.split("\n")) {
        if (!line.startsWith("data:")) continue;
        const data = line.slice(5).trim();
        if (data === "[DONE]") continue;
        const j = JSON.parse(data) as {
          error?: { message: string };
          usage?: typeof usage;
          choices?: { delta?: { content?: string; reasoning_content?: string } }[];
        };
        if (j.error) throw new Error(j.error.message);
        if (j.usage) usage = j.usage;
        const d = j.choices?.[0]?.delta;
        if (d && (d.content || d.reasoning_content)) {
          if (n++ === 0) tFirst = performance.now();
          b.push(d.content ?? "", d.reasoning_content ?? "");
        }
      }
    }
  }
  const tokens = usage?.completion_tokens ?? n;
  const tps = speed(Math.max(0, tokens - 1), performance.now() - tFirst);
  b.end(`${tokens} tokens · ${tps} · first token ${(tFirst - t0).toFixed(0)} ms`);
  ui.stats.textContent = `${tps} · prompt ${usage?.prompt_tokens ?? "?"} tokens · server model ${serverModel}`;
}

async function send(): Promise<void> {
  const text = ui.prompt.value.trim();
  if (!text || busy) return;
  showError(undefined);
  ui.prompt.value = "";
  bubble("user", text);
  history.push({ role: "user", content: text });
  const b = bubble("assistant");
  busy = new AbortController();
  setReady();
  try {
    if (ui.mode.value === "server") await sendServer(b, busy);
    else await sendBrowser(b, busy);
  } catch (e) {
    if (!busy.signal.aborted) showError(describe(e));
    b.end(busy.signal.aborted ? "stopped" : "failed");
  } finally {
    history.push({ role: "assistant", content: b.text });
    b.div.dataset.done = "true";
    busy = undefined;
    setReady();
  }
}

async function probeServer(): Promise<boolean> {
  try {
    const headers: Record<string, string> = ui.apiKey.value
      ? { authorization: `Bearer ${ui.apiKey.value}` }
      : {};
    const res = await fetch("v1/models", { headers });
    if (res.status === 401) {
      serverModel = "";
      ui.serverModel.textContent = "this server needs an API key";
      return true;
    }
    if (!res.ok) return false;
    const j = (await res.json()) as { data: { id: string; context_length?: number }[] };
    serverModel = j.data[0]?.id;
    ui.serverModel.textContent = `model ${serverModel} · context ${j.data[0]?.context_length ?? "?"}`;
    return true;
  } catch {
    return false;
  }
}

function applyMode(): void {
  const server = ui.mode.value === "server";
  ui.modelPanel.hidden = server;
  ui.serverPanel.hidden = !server;
  ui.badge.textContent = server ? "server inference" : "local: runs in this browser";
  setReady();
}

ui.modelSelect.onchange = () => {
  ui.modelUrl.hidden = ui.modelSelect.value !== "url";
  ui.modelFile.hidden = ui.modelSelect.value !== "file";
};
ui.load.onclick = () => void loadModel();
ui.mode.onchange = () => {
  applyMode();
  if (ui.mode.value === "server") void probeServer().then(setReady);
};
ui.apiKey.onchange = () => void probeServer().then(setReady);
ui.composer.onsubmit = (e) => {
  e.preventDefault();
  void send();
};
ui.prompt.onkeydown = (e) => {
  if (e.key === "Enter" && !e.shiftKey) {
    e.preventDefault();
    void send();
  }
};
ui.stop.onclick = () => busy?.abort();

async function main(): Promise<void> {
  const hasServer = await probeServer();
  ui.mode.value = params.get("mode") ?? (hasServer ? "server" : "browser");
  if (!hasServer) ui.mode.querySelector<HTMLOptionElement>('option[value="server"]')!.disabled = true;
  applyMode();
  const m = params.get("model");
  if (m) {
    ui.modelSelect.value = "url";
    ui.modelUrl.value = new URL(m, location.href).href;
    ui.modelUrl.hidden = false;
  }
  void refreshCache();
  if (ui.mode.value === "browser" && params.get("autoload") !== "0") await loadModel();
  document.body.dataset.started = "true";
}
void main();
