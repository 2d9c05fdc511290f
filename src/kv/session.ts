/**
 * Saved sessions: a sequence's token ids and the KV rows of its full blocks, written to bytes and
 * read back in another process, stored in the cache's own K/V types (a restore is byte-exact).
 * Restoring publishes the blocks in the pool's prefix cache under their prefix keys, so the next
 * request whose prompt starts with those tokens adopts them instead of prefilling.
 *
 * File layout (little endian), format version 2:
 *   0      8 bytes  magic "EDGLSESS"
 *   8      u32      format version
 *   12     u32      H = header bytes
 *   16     H bytes  header, UTF-8 JSON (SessionHeader)
 *   16+H   KV payload, per KV layer group in header order (`groups`: the engine's groups of layers
 *                   by attention kind, kv/paged-cache.ts KVGroup): that group's blocks
 *                   first..nBlocks-1, block i holding positions [i*B, (i+1)*B): for each of the
 *                   group's layers, B K rows then B V rows (none for MLA), in the header's
 *                   kType/vType. A global group stores every block (first 0); a sliding-window
 *                   group only those the window of position nBlocks*B reaches.
 * Version 1 (no `groups`) is read as one global group of every layer: it loads into an engine
 * whose KV is one group (models without sliding-window layers, or --swa-full); into one with
 * windowed groups it is a SessionError ("kv") that says so.
 *   end-8  8 bytes  checksum: hash64 of every byte before it (corruption, not tampering, check)
 * The header names the model fingerprint (loadLLM: GGUF tensor infos, scalar metadata and a
 * sample of every tensor's bytes), KV types, Hadamard rotation and layout; a file for another model or KV layout
 * is a SessionError ("model" / "kv"), a malformed, truncated or corrupted one a SessionError
 * ("format"), never a crash or a silently wrong cache.
 */
import { SessionError } from "../errors.js";
import type { KVGroup } from "./paged-cache.js";
import { blockKeys } from "./paged-pool.js";
import { isKVType, kvRowBytes, type KVType } from "./quant-kv.js";

export const SESSION_MAGIC = "EDGLSESS";
export const SESSION_VERSION = 2;
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
  /** Bytes of one block across every layer (all groups). */
  blockBytes: number;
  /** KV layer groups (version 2; a version-1 file reads as one global group, first 0). */
  groups: SessionGroup[];
  /** The sequence's token ids (may run past the saved KV: the tail is recomputed on use). */
  tokens: number[];
  chat?: SessionChat;
}

export interface SessionGroup {
  /** Model layers of the group, in its pool's order. */
  layers: number[];
  /** 0 = global; W = sliding window. */
  window: number;
  /** First block stored (blocks before it fell out of the window). */
  first: number;
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

type Layout = Omit<SessionHeader, "model" | "nBlocks" | "tokens" | "chat" | "groups">;

/** The layout fields of a header as the engine's KV groups have them. */
export function poolLayout(groups: readonly KVGroup[]): Layout & {
  groups: Omit<SessionGroup, "first">[];
} {
  const s = groups[0].pool.shape;
  return {
    kType: s.dtype,
    vType: s.vFromK ? s.dtype : (s.dtypeV ?? s.dtype),
    nLayers: groups.reduce((n, g) => n + g.layers.length, 0),
    kWidth: s.kWidth,
    vWidth: s.vWidth,
    vFromK: !!s.vFromK,
    kRot: s.rotK ?? 0,
    vRot: s.rotV ?? 0,
    blockSize: s.blockSize,
    blockBytes: groups.reduce((n, g) => n + g.pool.blockByteLength(), 0),
    groups: groups.map((g) => ({ layers: [...g.layers], window: g.window })),
  };
}

/** First block of a prefix of m blocks a group with this window needs (window of position m*B). */
function firstBlock(window: number, m: number, B: number): number {
  return window > 0 ? Math.floor(Math.max(0, m * B - window + 1) / B) : 0;
}

/**
 * Read the KV of the longest prefix of `tokens` whose full blocks the pools still have published
 * (a finished sequence's blocks stay cached until evicted), at most `maxBlocks` blocks: every
 * block of a global group, and of a windowed group those its window at the prefix's end reaches.
 */
export function exportPrefix(
  groups: readonly KVGroup[],
  tokens: readonly number[],
  maxBlocks = Infinity,
): { nBlocks: number; groups: SessionGroup[]; payload: Uint8Array } {
  const B = groups[0].pool.shape.blockSize;
  const keys = blockKeys(tokens, B, Math.min(maxBlocks, Math.floor(tokens.length / B)));
  let m = keys.length;
  for (const g of groups)
    if (g.window <= 0) {
      let i = 0;
      while (i < m && g.pool.hasKey(keys[i])) i++;
      m = i;
    }
  const fits = (m: number) =>
    groups.every((g) => {
      for (let i = firstBlock(g.window, m, B); i < m; i++) if (!g.pool.hasKey(keys[i])) return false;
      return true;
    });
  while (m > 0 && !fits(m)) m--;
  let bytes = 0;
  for (const g of groups) bytes += (m - firstBlock(g.window, m, B)) * g.pool.blockByteLength();
  const payload = new Uint8Array(bytes);
  let off = 0;
  for (const g of groups) {
    const bb = g.pool.blockByteLength();
    for (let i = firstBlock(g.window, m, B); i < m; i++, off += bb)
      g.pool.readBlock(g.pool.peekByKey(keys[i])!, payload, off);
  }
  return {
    nBlocks: m,
    groups: groups.map((g) => ({
      layers: [...g.layers],
      window: g.window,
      first: firstBlock(g.window, m, B),
    })),
    payload,
  };
}

/**
 * Publish a session's blocks in the pools' prefix caches (unreferenced, cached): blocks already
 * published are left alone; a group stops when its pool has no block left that is not part of
 * this session. Returns the positions now available as a cached prefix (every group's blocks of
 * the prefix published).
 */
export function importPrefix(groups: readonly KVGroup[], s: SessionData): number {
  const h = s.header;
  const B = h.blockSize;
  const keys = blockKeys(h.tokens, B, h.nBlocks);
  let off = 0;
  let restored = h.nBlocks;
  h.groups.forEach((sg, gi) => {
    const pool = groups[gi].pool;
    const bb = pool.blockByteLength();
    let i = sg.first;
    for (; i < h.nBlocks && i - sg.first < pool.shape.nBlocks; i++) {
      if (pool.hasKey(keys[i])) continue;
      if (pool.available === 0) break;
      const b = pool.allocate()!;
      pool.writeBlock(b, s.payload, off + (i - sg.first) * bb);
      pool.publish(b, keys[i]);
      pool.release(b);
    }
    // A global group's prefix is as long as its published run; a windowed one needs its whole tail.
    restored = Math.min(restored, sg.window > 0 ? (i === h.nBlocks ? h.nBlocks : 0) : i);
    off += (h.nBlocks - sg.first) * bb;
  });
  return restored * B;
}

/** Throws SessionError unless `h` was written for this model and this pool's KV layout. */
export function checkCompatible(
  h: SessionHeader,
  model: string,
  groups: readonly KVGroup[],
  nVocab: number,
  file?: string,
): void {
  if (h.model !== model)
    throw new SessionError("model", "the session was saved with another model", {
      file,
      field: "model",
      hint: `session model ${h.model}, loaded model ${model}: load the model it was saved with`,
    });
  const { groups: wantGroups, ...want } = poolLayout(groups);
  const have = JSON.stringify(h.groups.map((g) => ({ layers: g.layers, window: g.window })));
  if (have !== JSON.stringify(wantGroups)) {
    const full = h.groups.length === 1 && h.groups[0].window === 0;
    throw new SessionError(
      "kv",
      `the session's KV layer groups differ: saved ${describeGroups(h.groups)}, this engine has ${describeGroups(wantGroups)}`,
      {
        file,
        field: "groups",
        hint: full
          ? "the session kept full KV for every layer (a version-1 file, or saved with --swa-full): load with --swa-full (swaFull)"
          : "load with the --swa-full (swaFull) setting it was saved with",
      },
    );
  }
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

function describeGroups(gs: readonly { layers: readonly number[]; window: number }[]): string {
  return gs
    .map((g) => `${g.layers.length} layer(s) ${g.window > 0 ? `window ${g.window}` : "global"}`)
    .join(" + ");
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
  if (version !== SESSION_VERSION && version !== 1)
    throw new SessionError(
      "version",
      `session format version ${version} is not supported (this build reads 1 and ${SESSION_VERSION})`,
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
  if (version === 1) {
    if ((h as { groups?: unknown }).groups !== undefined)
      bad("a version-1 header has no groups", 16, "groups");
    h.groups = [{ layers: Array.from({ length: h.nLayers }, (_, i) => i), window: 0, first: 0 }];
  }
  const seen = new Set<number>();
  const groupsOk =
    Array.isArray(h.groups) &&
    h.groups.length >= 1 &&
    h.groups.every(
      (g) =>
        typeof g === "object" &&
        g !== null &&
        isInt(g.window) &&
        isInt(g.first, 0, h.nBlocks) &&
        (g.window > 0 || g.first === 0) &&
        Array.isArray(g.layers) &&
        g.layers.length >= 1 &&
        g.layers.every((l) => isInt(l, 0, h.nLayers - 1) && !seen.has(l) && seen.add(l) !== undefined),
    ) &&
    seen.size === h.nLayers;
  if (!groupsOk) bad("invalid KV layer groups", 16, "groups");
  const groupBlock = (g: SessionGroup) => g.layers.length * h.blockSize * rowBytes;
  const want = h.groups.reduce((n, g) => n + (h.nBlocks - g.first) * groupBlock(g), 0);
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
  if (payloadLen !== want)
    bad(
      `KV payload has ${payloadLen} bytes, the header's ${h.nBlocks} blocks and groups make ${want}`,
      16 + H,
    );
  return { header: h, payload: bytes.subarray(16 + H, bytes.length - 8) };
}
