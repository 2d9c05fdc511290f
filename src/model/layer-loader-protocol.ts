/**
 * What node-layer-loader.ts and its worker (layer-loader-worker.ts) share: the worker's init data
 * and the control words in a SharedArrayBuffer (Int32Array indices). The forward's thread bumps REQ
 * (with LAYER; -1 ends the worker) and waits on DONE; the worker waits on REQ, reads and packs the
 * layer into the staging buffer, sets STATUS (0 ok, 1 failed: message in `error`), the int8-dot
 * flag of each packed matrix from FLAGS on, then DONE = REQ.
 */
import type { GGMLType } from "../gguf/types.js";

export const CTRL = { REQ: 0, LAYER: 1, DONE: 2, STATUS: 3, FLAGS: 8 } as const;

/** Bytes of the error message buffer (UTF-8, zero-terminated). */
export const ERROR_BYTES = 1024;

/** One tensor of a layer: where it is in which file, its shape, and its matrices' slot offsets. */
export interface LoaderJob {
  part: number;
  offset: number;
  nBytes: number;
  type: GGMLType;
  rows: number;
  cols: number;
  offsets: number[];
}

export interface LoaderInit {
  paths: string[];
  jobs: Record<number, LoaderJob[]>;
  dot8Types: GGMLType[];
  /** The largest tensor's file bytes (the worker's read buffer). */
  maxBytes: number;
  ctrl: SharedArrayBuffer;
  /** Float64: ms reading, ms packing (the worker's own time, overlapping compute). */
  times: SharedArrayBuffer;
  stage: SharedArrayBuffer;
  error: SharedArrayBuffer;
}
