/**
 * Saved sessions: a sequence's token ids and the KV rows of its full blocks, written to bytes and
 * read back in another process, stored in the cache's own K/V types (a restore is byte-exact).
 * Restoring publishes the blocks in the pool's prefix cache under their prefix keys, so the next
 * request whose prompt starts with those tokens adopts them instead of prefilling.
 *
 * File layout (little endian), format version 1:
 *   0      8 bytes  magic "EDGLSESS"
 *   8      u32      format version
 *   12     u32      H = header bytes
 *   16     H bytes  header, UTF-8 JSON (SessionHeader)
 *   16+H   nBlocks * blockBytes  KV payload; block i holds positions [i*B, (i+1)*B): for each
 *                   layer, B K rows then B V rows (none for MLA), in the header's kType/vType
 *   end-8  8 bytes  checksum: hash64 of every byte before it (corruption, not tampering, check)
 * The header names the model fingerprint (loadLLM: GGUF tensor infos, scalar metadata and a
 * sample of every tensor's bytes), KV types, Hadamard rotation and layout; a file for another model or KV layout
 * is a SessionError ("model" / "kv"), a malformed, truncated or corrupted one a SessionError
 * ("format"), never a crash or a silently wrong cache.
 */
import { SessionError } from "../errors.js";
import type { BlockPool } from "./paged-pool.js";
import { blockKeys } from "./paged-pool.js";
import { isKVType, kvRowBytes, type KVType } from "./quant-kv.js";

export const SESSION_MAGIC = "EDGLSESS";
export const SESSION_VERSION = 1;
/** Headers above this are refused before parsing (token lists of a few million ids fit). */
const MAX_HEADER = 64 << 20;

export interface SessionChat {
  messages: { role: string; content: string }[];
  /** ChatSession's index of the oldest non-system message the model still sees. */
  first: number;
}

export interface SessionHeader {
  /** Model fingerprint (LLM.fingerprint). */
  model: string;
  kType: KVType;
  vType: KVType;
  nLayers: number;
  kWidth: number;
  vWidth: number;
  vFromK: boolean;
  /**
   * Hadamard block sizes the K/V rows are stored rotated by (kv/hadamard.ts), 0 = none; absent in
   * files written before rotation existed, read as 0.
   */
  kRot: number;
  vRot: number;
  blockSize: number;
  /** Full blocks in the payload: their KV covers tokens [0, nBlocks * blockSize). */
  nBlocks: number;
  blockBytes: number;
  /** The sequence's token ids (may run past the saved KV: the tail is recomputed on use). */
  tokens: number[];
  chat?: SessionChat;
}

export interface SessionData {
  header: SessionHeader;
  /** nBlocks * blockBytes bytes. */
  payload: Uint8Array;
}

/** 64-bit FNV-1a-like hash of bytes as 8 bytes (two 32-bit lanes). */
export function hashBytes(b: Uint8Array, end = b.length): Uint8Array {
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193 ^ end;
  for (let i = 0; i < end; i++) {
    const c = b[i];
    h1 = Math.imul(h1 ^ c, 0x01000193);
    h2 = Math.imul(h2 ^ c, 0x5bd1e995) ^ (h1 >>> 15);
  }
  const out = new Uint8Array(8);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, h1 >>> 0, true);
  dv.setUint32(4, h2 >>> 0, true);
  return out;
}

/** The layout fields of a header as the pool has them. */
export function poolLayout(pool: BlockPool): Omit<SessionHeader, "model" | "nBlocks" | "tokens" | "chat"> {
  const s = pool.shape;
  return {
    kType: s.dtype,
    vType: s.vFromK ? s.dtype : (s.dtypeV ?? s.dtype),
    nLayers: s.nLayers,
    kWidth: s.kWidth,
    vWidth: s.vWidth,
    vFromK: !!s.vFromK,
    kRot: s.rotK ?? 0,
    vRot: s.rotV ?? 0,
    blockSize: s.blockSize,
    blockBytes: pool.blockByteLength(),
  };
}

/**
 * Read the KV of the longest prefix of `tokens` whose full blocks the pool still has published
 * (a finished sequence's blocks stay cached until evicted), at most `maxBlocks` blocks.
 */
export function exportPrefix(
  pool: BlockPool,
  tokens: readonly number[],
  maxBlocks = Infinity,
): { nBlocks: number; payload: Uint8Array } {
  const B = pool.shape.blockSize;
  const keys = blockKeys(tokens, B, Math.min(maxBlocks, Math.floor(tokens.length / B)));
  const blocks: number[] = [];
  for (const k of keys) {
    const b = pool.peekByKey(k);
    if (b === undefined) break;
    blocks.push(b);
  }
  const bb = pool.blockByteLength();
  const payload = new Uint8Array(blocks.length * bb);
  blocks.forEach((b, i) => pool.readBlock(b, payload, i * bb));
  return { nBlocks: blocks.length, payload };
}

/**
 * Publish a session's blocks in the pool's prefix cache (unreferenced, cached): blocks already
 * published are left alone; stops when the pool has no block left that is not part of this
 * session. Returns the positions now available as a cached prefix.
 */
export function importPrefix(pool: BlockPool, s: SessionData): number {
  const h = s.header;
  const B = h.blockSize;
  const keys = blockKeys(h.tokens, B, h.nBlocks);
  const limit = Math.min(keys.length, pool.shape.nBlocks);
  let i = 0;
  for (; i < limit; i++) {
    if (pool.hasKey(keys[i])) continue;
    if (pool.available === 0) break;
    const b = pool.allocate()!;
    pool.writeBlock(b, s.payload, i * h.blockBytes);
    pool.publish(b, keys[i]);
    pool.release(b);
  }
  return i * B;
}

/** Throws SessionError unless `h` was written for this model and this pool's KV layout. */
export function checkCompatible(
  h: SessionHeader,
  model: string,
  pool: BlockPool,
  nVocab: number,
  file?: string,
): void {
  if (h.model !== model)
    throw new SessionError("model", "the session was saved with another model", {
      file,
      field: "model",
      hint: `session model ${h.model}, loaded model ${model}: load the model it was saved with`,
    });
  const want = poolLayout(pool);
  for (const k of Object.keys(want) as (keyof typeof want)[]) {
    if (h[k] !== want[k])
      throw new SessionError(
        "kv",
        `the session's KV cache differs: ${k} is ${h[k]}, this engine has ${want[k]}`,
        {
          file,
          field: k,
          hint:
            k === "kType" || k === "vType"
              ? "use the --cache-type-k/-v (kvType/kvTypeV) it was saved with"
              : k === "kRot" || k === "vRot"
                ? "the rows were stored with another Hadamard rotation (kvRotate; files from before rotation are unrotated)"
                : undefined,
        },
      );
  }
  for (const t of h.tokens)
    if (t >= nVocab)
      throw new SessionError("format", `token id ${t} is outside the vocabulary (${nVocab})`, {
        file,
        field: "tokens",
      });
}

export function encodeSession(s: SessionData): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(s.header));
  const out = new Uint8Array(16 + json.length + s.payload.length + 8);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < 8; i++) out[i] = SESSION_MAGIC.charCodeAt(i);
  dv.setUint32(8, SESSION_VERSION, true);
  dv.setUint32(12, json.length, true);
  out.set(json, 16);
  out.set(s.payload, 16 + json.length);
  out.set(hashBytes(out, out.length - 8), out.length - 8);
  return out;
}

function isInt(x: unknown, lo = 0, hi = 2 ** 31 - 1): x is number {
  return typeof x === "number" && Number.isInteger(x) && x >= lo && x <= hi;
}

/** Parse and check a session file's bytes (structure only; see checkCompatible for the model). */
export function decodeSession(bytes: Uint8Array, file?: string): SessionData {
  const bad = (msg: string, offset?: number, field?: string): never => {
    throw new SessionError("format", msg, { file, offset, field });
  };
  if (bytes.length < 24) bad(`the session file is truncated (${bytes.length} bytes)`);
  for (let i = 0; i < 8; i++)
    if (bytes[i] !== SESSION_MAGIC.charCodeAt(i)) bad("not an edgellm session file (bad magic)", 0);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = dv.getUint32(8, true);
  if (version !== SESSION_VERSION)
    throw new SessionError(
      "version",
      `session format version ${version} is not supported (this build reads ${SESSION_VERSION})`,
      {
        file,
        offset: 8,
      },
    );
  const H = dv.getUint32(12, true);
  if (H > MAX_HEADER || 16 + H + 8 > bytes.length)
    bad(`the session file is truncated (header of ${H} bytes)`, 12);
  const sum = hashBytes(bytes, bytes.length - 8);
  for (let i = 0; i < 8; i++)
    if (sum[i] !== bytes[bytes.length - 8 + i])
      bad("the session file is corrupted or truncated (checksum mismatch)", bytes.length - 8);
  let h: SessionHeader;
  try {
    h = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(16, 16 + H)));
  } catch {
    return bad("the session header is not valid JSON", 16);
  }
  if (typeof h !== "object" || h === null || Array.isArray(h)) bad("the session header is not an object", 16);
  if (typeof h.model !== "string") bad("missing model fingerprint", 16, "model");
  if (!isKVType(h.kType as string) || !isKVType(h.vType as string)) bad("invalid KV types", 16, "kType");
  for (const k of ["nLayers", "kWidth", "vWidth", "blockSize", "nBlocks", "blockBytes"] as const)
    if (!isInt(h[k], k === "nBlocks" || k === "vWidth" ? 0 : 1)) bad(`invalid ${k}`, 16, k);
  if (typeof h.vFromK !== "boolean") bad("invalid vFromK", 16, "vFromK");
  h.kRot ??= 0;
  h.vRot ??= 0;
  if (!isInt(h.kRot) || !isInt(h.vRot)) bad("invalid kRot/vRot", 16, "kRot");
  if (!Array.isArray(h.tokens) || !h.tokens.every((t) => isInt(t))) bad("invalid token ids", 16, "tokens");
  if (h.nBlocks * h.blockSize > h.tokens.length) bad("more KV blocks than tokens", 16, "nBlocks");
  const rowBytes = kvRowBytes(h.kType, h.kWidth) + (h.vFromK ? 0 : kvRowBytes(h.vType, h.vWidth));
  if (h.blockBytes !== h.nLayers * h.blockSize * rowBytes)
    bad("blockBytes does not match the KV layout", 16, "blockBytes");
  if (h.chat !== undefined) {
    const c = h.chat;
    const ok =
      typeof c === "object" &&
      c !== null &&
      Array.isArray(c.messages) &&
      c.messages.every(
        (m) =>
          typeof m === "object" && m !== null && typeof m.role === "string" && typeof m.content === "string",
      ) &&
      isInt(c.first, 0, c.messages.length);
    if (!ok) bad("invalid chat state", 16, "chat");
  }
  const payloadLen = bytes.length - 8 - 16 - H;
  if (payloadLen !== h.nBlocks * h.blockBytes)
    bad(`KV payload has ${payloadLen} bytes, the header says ${h.nBlocks} blocks of ${h.blockBytes}`, 16 + H);
  return { header: h, payload: bytes.subarray(16 + H, bytes.length - 8) };
}
