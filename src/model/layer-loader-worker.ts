/**
 * The reader thread of node-layer-loader.ts: waits for a layer number, reads that layer's tensors
 * with positional reads of its own file descriptors and packs each matrix into the staging buffer
 * at its slot offset (packInto: the same bytes the set's own packing gives), then signals DONE.
 * Protocol in layer-loader-protocol.ts.
 */
import { closeSync, openSync, readSync, writeSync } from "node:fs";
import { workerData } from "node:worker_threads";
import { packedBytes, packInto } from "../kernels/wasm/repack.js";
import { CTRL, type LoaderInit } from "./layer-loader-protocol.js";

const init = workerData as LoaderInit;
const ctrl = new Int32Array(init.ctrl);
const flags = new Int32Array(init.flags);
const times = new Float64Array(init.times);
const stage = new Uint8Array(init.stage);
const error = new Uint8Array(init.error);
const fds = init.paths.map((p) => openSync(p, "r"));
const buf = new Uint8Array(init.maxBytes);
const cache = init.cache;
const cacheFd = cache ? openSync(cache.path, "r+") : undefined;
const cached = cache ? new Int32Array(cache.cached) : undefined;

function readFully(fd: number, into: Uint8Array, at: number, what: string): void {
  for (let done = 0; done < into.length;) {
    const n = readSync(fd, into, done, into.length - done, at + done);
    if (n === 0) throw new Error(`unexpected end of ${what} at ${at + done}`);
    done += n;
  }
}

/** This worker's piece of a cached layer image, read straight into the staging buffer. */
function readCached(layer: number): void {
  const t0 = performance.now();
  const bytes = cache!.layerBytes[layer]!;
  const piece = Math.ceil(bytes / init.count / 4096) * 4096;
  const from = Math.min(bytes, init.index * piece);
  const to = Math.min(bytes, from + piece);
  const base = cache!.dataStart + cache!.rank[layer]! * init.slotBytes;
  if (to > from) readFully(cacheFd!, stage.subarray(from, to), base + from, "the prepared-layout cache");
  times[2 * init.index]! += performance.now() - t0;
}

function loadLayer(layer: number): void {
  const jobs = init.jobs[layer];
  if (!jobs) throw new Error(`no streamed layer ${layer}`);
  if (cached && Atomics.load(cached, cache!.rank[layer]!) === 1) return readCached(layer);
  const base = cache ? cache.dataStart + cache.rank[layer]! * init.slotBytes : 0;
  for (let i = init.index; i < jobs.length; i += init.count) {
    const j = jobs[i]!;
    const t0 = performance.now();
    readFully(fds[j.part]!, buf.subarray(0, j.nBytes), j.offset, "file");
    const t1 = performance.now();
    const matBytes = j.nBytes / j.offsets.length;
    const size = packedBytes(j.type, j.rows, j.cols);
    j.offsets.forEach((off, e) => {
      const src = buf.subarray(e * matBytes, (e + 1) * matBytes);
      const dot8 = packInto(j.type, src, j.rows, j.cols, stage.subarray(off, off + size), init.dot8Types);
      flags[j.flag + e] = dot8 ? 1 : 0;
      // the packed image goes to the cache file as well (the forward's thread marks the layer)
      if (cacheFd !== undefined) {
        const out = stage.subarray(off, off + size);
        for (let done = 0; done < size;)
          done += writeSync(cacheFd, out, done, size - done, base + off + done);
      }
    });
    times[2 * init.index]! += t1 - t0;
    times[2 * init.index + 1]! += performance.now() - t1;
  }
}

let seen = 0;
for (;;) {
  Atomics.wait(ctrl, CTRL.REQ, seen);
  const req = Atomics.load(ctrl, CTRL.REQ);
  if (req === seen) continue;
  seen = req;
  const layer = Atomics.load(ctrl, CTRL.LAYER);
  if (layer < 0) break;
  try {
    loadLayer(layer);
    Atomics.store(ctrl, CTRL.STATUS, 0);
  } catch (e) {
    const msg = new TextEncoder().encode(String((e as Error).message ?? e)).subarray(0, error.length - 1);
    error.fill(0);
    error.set(msg);
    Atomics.store(ctrl, CTRL.STATUS, 1);
  }
  Atomics.store(ctrl, CTRL.DONE, req);
  Atomics.notify(ctrl, CTRL.DONE);
}
for (const fd of fds) closeSync(fd);
if (cacheFd !== undefined) closeSync(cacheFd);
