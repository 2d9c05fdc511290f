/**
 * Training checkpoint: everything needed to continue bit-exactly.
 *   bytes 0..7   "EDGECKPT"
 *   u32          JSON header length H
 *   H bytes      JSON { version, config, step, adamT, losses, meta }
 *   pad to 4
 *   f32 x P      params, then Adam m, then Adam v   (P = param count of the config)
 * Written to a temporary file and renamed, so an interrupted save never leaves a torn checkpoint.
 */
import { readFile, rename, writeFile } from "node:fs/promises";
import { InputError } from "../errors.js";
import type { TrainModelConfig } from "./model/config.js";
import { paramLayout } from "./model/params.js";

const MAGIC = "EDGECKPT";
const VERSION = 1;

/** C: the model's config (the language model's by default; the vision encoder's VitConfig). */
export interface Checkpoint<C = TrainModelConfig> {
  config: C;
  /** optimisation steps completed */
  step: number;
  adamT: number;
  /** loss of every completed step */
  losses: number[];
  /** free-form run settings (seed, schedule...) checked on resume */
  meta: Record<string, unknown>;
  params: Float32Array;
  m: Float32Array;
  v: Float32Array;
}

export async function saveCheckpoint<C>(path: string, c: Checkpoint<C>): Promise<void> {
  const header = new TextEncoder().encode(
    JSON.stringify({
      version: VERSION,
      config: c.config,
      step: c.step,
      adamT: c.adamT,
      losses: c.losses,
      meta: c.meta,
      // LoRA runs save the adapter's parameters, not the model's: their count is in the header.
      nParams: c.params.length,
    }),
  );
  const headEnd = 12 + header.length;
  const dataStart = (headEnd + 3) & ~3;
  const P = c.params.length;
  const buf = new Uint8Array(dataStart + 12 * P);
  buf.set(new TextEncoder().encode(MAGIC), 0);
  new DataView(buf.buffer).setUint32(8, header.length, true);
  buf.set(header, 12);
  const f = new Float32Array(buf.buffer, dataStart, 3 * P);
  f.set(c.params, 0);
  f.set(c.m, P);
  f.set(c.v, 2 * P);
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, buf);
  await rename(tmp, path);
}

export async function loadCheckpoint<C = TrainModelConfig>(path: string): Promise<Checkpoint<C>> {
  const buf = new Uint8Array(await readFile(path));
  const bad = (msg: string, offset?: number) =>
    new InputError(`not a valid edgellm checkpoint: ${msg}`, { file: path, offset });
  if (buf.length < 12 || new TextDecoder().decode(buf.subarray(0, 8)) !== MAGIC) throw bad("bad magic", 0);
  const H = new DataView(buf.buffer, buf.byteOffset).getUint32(8, true);
  if (12 + H > buf.length) throw bad(`header length ${H} past end of file`, 8);
  let head: {
    version: number;
    config: C;
    step: number;
    adamT: number;
    losses: number[];
    meta: Record<string, unknown>;
    nParams?: number;
  };
  try {
    head = JSON.parse(new TextDecoder().decode(buf.subarray(12, 12 + H)));
  } catch {
    throw bad("header is not JSON", 12);
  }
  if (head.version !== VERSION) throw bad(`version ${head.version}, expected ${VERSION}`, 12);
  const P = head.nParams ?? paramLayout(head.config as TrainModelConfig).total;
  if (!Number.isSafeInteger(P) || P < 0) throw bad(`bad parameter count ${P}`, 12);
  const dataStart = (12 + H + 3) & ~3;
  if (buf.length !== dataStart + 12 * P)
    throw bad(`expected ${dataStart + 12 * P} bytes for ${P} params, file has ${buf.length}`);
  const f = new Float32Array(
    buf.buffer.slice(buf.byteOffset + dataStart, buf.byteOffset + dataStart + 12 * P),
  );
  return {
    config: head.config,
    step: head.step,
    adamT: head.adamT,
    losses: head.losses,
    meta: head.meta,
    params: f.slice(0, P),
    m: f.slice(P, 2 * P),
    v: f.slice(2 * P, 3 * P),
  };
}
