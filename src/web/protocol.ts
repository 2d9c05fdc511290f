/**
 * Messages between a page and the engine worker (engine-worker.ts). Plain data only: a File
 * travels by structured clone, everything else is JSON-like.
 */
import type { DownloadProgress, CachedModel, DownloadErrorCode } from "./model-cache.js";
import type { ChatMessage } from "../tokenizer/chat-template.js";
import type { ExpertPlacement, WeightPlacement } from "../model/index.js";

export type ModelSource =
  /** Downloaded into OPFS first (resumable), then read from there. */
  | { kind: "url"; url: string; sha256?: string; cache?: true }
  /** Read by HTTP Range requests, nothing stored. */
  | { kind: "url"; url: string; cache: false }
  | { kind: "file"; file: File }
  | { kind: "cached"; key: string };

export interface LoadRequest {
  type: "load";
  source: ModelSource;
  threads?: number;
  simd?: "auto" | "relaxed" | "simd128";
  /**
   * Memory budget in bytes (weights, KV, working room), as loadLLM's maxMemory: a model over it is
   * refused before anything is allocated, or placed with `weights`/`experts` below.
   */
  maxMemory?: number;
  /**
   * "stream": layers read from the file as they run; "auto": streamed (or experts on demand for a
   * MoE model) when the model does not fit maxMemory. Non-resident placements read the model
   * from OPFS with a FileSystemSyncAccessHandle (url with the cache, or cached sources).
   */
  weights?: WeightPlacement;
  /** Mixture-of-experts: "on-demand" keeps experts in the file, loaded into an LRU cache. */
  experts?: ExpertPlacement;
  /** Tokens per sequence (default min(model's, 4096)) and sequences (default 4): the KV pool. */
  contextSize?: number;
  parallel?: number;
}

export interface ChatRequest {
  type: "chat";
  id: number;
  messages: ChatMessage[];
  /** Token ids to continue instead of the rendered messages (raw generation, benchmarks). */
  tokens?: number[];
  /** Keep generating past the end-of-sequence token (benchmarks: a fixed number of tokens). */
  ignoreEos?: boolean;
  maxTokens?: number;
  temperature?: number;
  seed?: number;
}

export type ToWorker = LoadRequest | ChatRequest | { type: "abort"; id: number } | { type: "unload" };

export interface ModelInfo {
  name: string;
  /** "wasm-relaxed-simd" or "wasm-simd128". */
  kernels: string;
  threads: number;
  crossOriginIsolated: boolean;
  contextSize: number;
  fileBytes: number;
  /** Bytes of the kernels' WebAssembly memory (weights + KV + scratch). */
  wasmBytes: number;
  /** Source description: URL, file name, or "cache". */
  from: string;
  loadMs: number;
  /** Streamed layers (slots in memory, of which pinned), when the weights are streamed. */
  stream?: { slots: number; pinned: number; slotBytes: number };
  /** Expert cache slots (experts in memory at once), when experts are loaded on demand. */
  expertSlots?: number;
}

/** Weights read from the file since the model was loaded (streamed layers, experts on demand). */
export interface WeightReads {
  layerLoads: number;
  expertHits: number;
  expertMisses: number;
  bytesRead: number;
}

export type LoadPhase = "download" | "verify" | "cached" | "open" | "kernels" | "weights" | "bind" | "ready";

export interface ProgressEvent {
  type: "progress";
  phase: LoadPhase;
  /** 0..1 within the phase group (download or load). */
  fraction: number;
  loaded?: number;
  total?: number;
  tensor?: string;
  resumedFrom?: number;
}

export interface WireError {
  name: string;
  message: string;
  code?: DownloadErrorCode;
}

export type FromWorker =
  | ProgressEvent
  | { type: "loaded"; info: ModelInfo; cached?: CachedModel }
  | { type: "token"; id: number; text: string; token: number }
  | {
      type: "done";
      id: number;
      reason: string;
      promptTokens: number;
      completionTokens: number;
      tokens: number[];
      ttftMs: number;
      decodeMs: number;
      startsInThinking: boolean;
      wasmBytes: number;
      /** Present when weights are read while generating. */
      reads?: WeightReads;
    }
  | { type: "error"; id?: number; error: WireError };

export function toWire(e: unknown): WireError {
  const err = e as Error & { code?: DownloadErrorCode };
  return { name: err?.name ?? "Error", message: err?.message ?? String(e), code: err?.code };
}

export type { DownloadProgress, CachedModel };
