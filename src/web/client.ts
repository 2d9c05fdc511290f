/**
 * Page side of the engine worker: load a model and stream chat answers.
 *   const eng = new WorkerEngine(new URL("./engine-worker.js", import.meta.url));
 *   const info = await eng.load({ kind: "url", url }, (p) => bar(p.fraction));
 *   for await (const ev of eng.chat(messages)) if (ev.type === "token") out += ev.text;
 */
import { EdgeLLMError } from "../errors.js";
import { ModelDownloadError } from "./model-cache.js";
import type {
  FromWorker,
  LoadRequest,
  ModelInfo,
  ModelSource,
  ProgressEvent,
  ChatRequest,
  WireError,
} from "./protocol.js";
import type { ChatMessage } from "../tokenizer/chat-template.js";

export type ChatEvent = Extract<FromWorker, { type: "token" } | { type: "done" }>;

function fromWire(e: WireError): Error {
  if (e.code) {
    const err = new ModelDownloadError(e.code, e.message);
    err.message = e.message;
    return err;
  }
  const err = new EdgeLLMError(e.message);
  err.name = e.name;
  err.message = e.message;
  return err;
}

export class WorkerEngine {
  private readonly worker: Worker;
  private nextId = 1;
  private listeners = new Set<(m: FromWorker) => void>();

  constructor(workerUrl: URL | string) {
    this.worker = new Worker(workerUrl, { type: "module" });
    this.worker.onmessage = (e: MessageEvent<FromWorker>) => {
      for (const l of [...this.listeners]) l(e.data);
    };
    this.worker.onerror = (e) => {
      const m: FromWorker = {
        type: "error",
        error: { name: "Error", message: `engine worker failed: ${e.message || "script error"}` },
      };
      for (const l of [...this.listeners]) l(m);
    };
  }

  private on(l: (m: FromWorker) => void): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  load(
    source: ModelSource,
    onProgress?: (p: ProgressEvent) => void,
    opts: Omit<LoadRequest, "type" | "source"> = {},
  ): Promise<ModelInfo> {
    return new Promise((resolve, reject) => {
      const off = this.on((m) => {
        if (m.type === "progress") onProgress?.(m);
        else if (m.type === "loaded") {
          off();
          resolve(m.info);
        } else if (m.type === "error" && m.id === undefined) {
          off();
          reject(fromWire(m.error));
        }
      });
      this.worker.postMessage({ type: "load", source, ...opts } satisfies LoadRequest);
    });
  }

  /** Stream one answer; breaking out of the loop (or `signal`) stops generation. */
  async *chat(
    messages: ChatMessage[],
    opts: Omit<ChatRequest, "type" | "id" | "messages"> & { signal?: AbortSignal } = {},
  ): AsyncGenerator<ChatEvent> {
    const id = this.nextId++;
    const queue: FromWorker[] = [];
    let wake: (() => void) | undefined;
    const off = this.on((m) => {
      if ((m.type === "token" || m.type === "done" || m.type === "error") && m.id === id) {
        queue.push(m);
        wake?.();
      }
    });
    const abort = () => this.worker.postMessage({ type: "abort", id });
    opts.signal?.addEventListener("abort", abort);
    const { signal: _s, ...rest } = opts;
    this.worker.postMessage({ type: "chat", id, messages, ...rest } satisfies ChatRequest);
    let finished = false;
    try {
      for (;;) {
        while (queue.length === 0) await new Promise<void>((r) => (wake = r));
        const m = queue.shift()!;
        if (m.type === "error") throw fromWire(m.error);
        yield m as ChatEvent;
        if (m.type === "done") {
          finished = true;
          return;
        }
      }
    } finally {
      off();
      opts.signal?.removeEventListener("abort", abort);
      if (!finished) abort();
    }
  }

  terminate(): void {
    this.worker.terminate();
  }
}
