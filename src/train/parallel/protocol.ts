/** Messages between the training main thread and a shard worker (worker_threads). */
import type { ModelConfig } from "../model/config.js";

export interface ShardInit {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  config: ModelConfig;
  /** rows of this shard and tokens per row */
  B: number;
  T: number;
  /** byte offset of the shared parameters, and where this worker's own buffers may start */
  paramsAt: number;
  base: number;
}

/** One forward+backward of the shard's rows; `denom` is the whole step's masked-token count. */
export interface ShardJob {
  tokens: Int32Array;
  targets: Int32Array;
  mask: Uint8Array;
  denom: number;
}

export type ShardReply =
  | { kind: "ready"; gradsAt: number; end: number }
  | { kind: "done"; loss: number }
  | { kind: "error"; message: string };
