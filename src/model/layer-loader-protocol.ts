/**
 * What node-layer-loader.ts and its worker (layer-loader-worker.ts) share: the worker's init data
 * and the control words in a SharedArrayBuffer per worker (Int32Array indices). The forward's
 * thread bumps REQ (with LAYER; -1 ends the worker) and waits on DONE; each worker waits on REQ,
 * reads and packs its share of the layer's tensors (job i goes to worker i % count) into the
 * shared staging buffer, sets the int8-dot flag of each matrix it packed (`flags`, indices from
 * job.flag on) and STATUS (0 ok, 1 failed: message in `error`), then DONE = REQ.
 */
import type { GGMLType } from "../gguf/types.js";

export const CTRL = { REQ: 0, LAYER: 1, DONE: 2, STATUS: 3, SIZE: 4 } as const;

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
  /** Index of its first matrix's int8-dot flag in `flags`. */
  flag: number;
}

/**
 * The prepared-layout cache file (node-layer-loader.ts): each streamed layer's packed slot image
 * at `dataStart + rank * slotBytes`. A layer marked in `cached` (Int32 per rank, set by the
 * forward's thread) is read from there straight into the staging buffer, in `count` equal pieces;
 * otherwise read and packed from the model, and the packed matrices written there.
 */
export interface PackedCacheInit {
  path: string;
  dataStart: number;
  /** Streamed layer -> its rank (its image's index in the file). */
  rank: Record<number, number>;
  /** Per layer, bytes its matrices take in a slot (what a cached read copies). */
  layerBytes: Record<number, number>;
  cached: SharedArrayBuffer;
}

export interface LoaderInit {
  paths: string[];
  jobs: Record<number, LoaderJob[]>;
  dot8Types: GGMLType[];
  /** The largest tensor's file bytes (the worker's read buffer). */
  maxBytes: number;
  /** This worker's share: jobs i with i % count === index. */
  index: number;
  count: number;
  /** This worker's control words (CTRL). */
  ctrl: SharedArrayBuffer;
  /** Int32 per matrix of a layer, shared: 1 where packed in the int8-dot layout. */
  flags: SharedArrayBuffer;
  /** Float64 [2 per worker]: ms reading, ms packing (overlapping compute). */
  times: SharedArrayBuffer;
  stage: SharedArrayBuffer;
  error: SharedArrayBuffer;
  slotBytes: number;
  cache?: PackedCacheInit;
}
