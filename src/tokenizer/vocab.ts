/**
 * The vocabulary as read from GGUF `tokenizer.ggml.*` metadata: token texts, scores, types,
 * merges, special ids and flags. Accepts a Map or a plain object of metadata key -> JS value
 * (strings, numbers, bigint, booleans, string[] and typed arrays), so it does not depend on how
 * the GGUF was read.
 */
import { TokenizerError } from "../errors.js";
import { mdGet, type MetadataLike } from "../gguf/getters.js";
import { detectSpecialIds, ROLE_KEYS, type Role, type RoleIds } from "./special-ids.js";
import { Attr, TokenType } from "./token-attrs.js";

export { Attr, TokenType } from "./token-attrs.js";

export type VocabModel = "gpt2" | "llama";

export interface VocabData {
  model: VocabModel;
  /** tokenizer.ggml.pre, or undefined. */
  pre: string | undefined;
  /** Token texts by id (GGUF form: byte-level chars for gpt2, ▁ for spaces for llama). */
  tokens: string[];
  /** text -> id (a later duplicate wins, as in the reference). */
  textToId: Map<string, number>;
  /** SPM piece scores by id (0 when absent). */
  scores: Float32Array;
  /** Attribute bits by id. */
  attrs: Uint16Array;
  /** BPE merges "left right" in rank order (gpt2 only). */
  merges: string[];
  bos: number;
  eos: number;
  eot: number;
  eom: number;
  /** Fill-in-the-middle ids (prefix, suffix, middle, pad, repo, file separator); -1 when absent. */
  fim: { pre: number; suf: number; mid: number; pad: number; rep: number; sep: number };
  unk: number;
  pad: number;
  /** undefined = family default. */
  addBos: boolean | undefined;
  addEos: boolean | undefined;
  addSpacePrefix: boolean | undefined;
  chatTemplate: string | undefined;
  /** Ids that end generation (EOS, EOT, EOM, FIM pad/repo/separator and the texts the reference lists). */
  eog: Set<number>;
}

function requireKey(md: MetadataLike, key: string): unknown {
  const v = mdGet(md, key);
  if (v === undefined) throw new TokenizerError("missing tokenizer metadata", { field: key });
  return v;
}

function asStringArray(v: unknown, key: string): string[] {
  if (!Array.isArray(v) || v.some((x) => typeof x !== "string")) {
    throw new TokenizerError("expected an array of strings", { field: key });
  }
  return v as string[];
}

function asNumberArray(v: unknown, key: string, n: number): ArrayLike<number> {
  const ok =
    v instanceof Float32Array ||
    v instanceof Int32Array ||
    v instanceof Uint32Array ||
    v instanceof Float64Array ||
    (Array.isArray(v) && v.every((x) => typeof x === "number"));
  if (!ok) throw new TokenizerError("expected a numeric array", { field: key });
  const a = v as ArrayLike<number>;
  if (a.length < n) {
    throw new TokenizerError(`array has ${a.length} entries, vocabulary has ${n}`, { field: key });
  }
  return a;
}

function optId(md: MetadataLike, key: string, n: number, dflt: number): number {
  const v = mdGet(md, key);
  if (v === undefined) return dflt;
  const id = typeof v === "bigint" ? Number(v) : v;
  if (typeof id !== "number" || !Number.isInteger(id) || id < 0) {
    throw new TokenizerError(`expected a token id, got ${String(v)}`, { field: key });
  }
  // The reference ignores an out-of-range id and keeps the default.
  return id < n ? id : dflt;
}

function optBool(md: MetadataLike, key: string): boolean | undefined {
  const v = mdGet(md, key);
  if (v === undefined) return undefined;
  if (typeof v !== "boolean") throw new TokenizerError("expected a boolean", { field: key });
  return v;
}

function attrOfType(t: number): number {
  switch (t) {
    case TokenType.Normal:
      return Attr.Normal;
    case TokenType.Unknown:
      return Attr.Unknown;
    case TokenType.Control:
      return Attr.Control;
    case TokenType.UserDefined:
      return Attr.UserDefined;
    case TokenType.Unused:
      return Attr.Unused;
    case TokenType.Byte:
      return Attr.Byte;
    default:
      return 0;
  }
}

/** Parse and validate tokenizer metadata. Throws TokenizerError naming the bad field. */
export function readVocab(md: MetadataLike): VocabData {
  const model = requireKey(md, "tokenizer.ggml.model");
  if (model !== "gpt2" && model !== "llama") {
    throw new TokenizerError(`unsupported tokenizer model '${String(model)}'`, {
      field: "tokenizer.ggml.model",
      hint: "supported: gpt2 (byte-level BPE), llama (SentencePiece)",
    });
  }
  const tokens = asStringArray(requireKey(md, "tokenizer.ggml.tokens"), "tokenizer.ggml.tokens").map(
    (t, i) => (t === "" ? `[EMPTY_${i}]` : t),
  );
  const n = tokens.length;
  if (n === 0) throw new TokenizerError("empty vocabulary", { field: "tokenizer.ggml.tokens" });

  const scores = new Float32Array(n);
  const sv = mdGet(md, "tokenizer.ggml.scores");
  if (sv !== undefined) scores.set(Array.from(asNumberArray(sv, "tokenizer.ggml.scores", n)).slice(0, n));

  const attrs = new Uint16Array(n).fill(Attr.Normal);
  const tv = mdGet(md, "tokenizer.ggml.token_type");
  if (tv !== undefined) {
    const types = asNumberArray(tv, "tokenizer.ggml.token_type", n);
    for (let i = 0; i < n; i++) attrs[i] = attrOfType(types[i]);
  }

  const textToId = new Map<string, number>();
  for (let i = 0; i < n; i++) textToId.set(tokens[i], i);

  let merges: string[] = [];
  if (model === "gpt2") {
    merges = asStringArray(requireKey(md, "tokenizer.ggml.merges"), "tokenizer.ggml.merges");
  }

  const spm = model === "llama";
  const bos = optId(md, "tokenizer.ggml.bos_token_id", n, spm ? 1 : -1);
  const eos = optId(md, "tokenizer.ggml.eos_token_id", n, spm ? 2 : -1);
  const unk = optId(md, "tokenizer.ggml.unknown_token_id", n, spm ? 0 : -1);
  const pad = optId(md, "tokenizer.ggml.padding_token_id", n, -1);
  // Roles the metadata names (the last present key wins), the rest from token texts; this also
  // applies the reference's attribute fix-ups and builds the EOG set.
  const given = {} as RoleIds;
  for (const role of Object.keys(ROLE_KEYS) as Role[]) {
    given[role] = -1;
    for (const key of ROLE_KEYS[role]) given[role] = optId(md, key, n, given[role]);
  }
  const { roles, eog } = detectSpecialIds(tokens, textToId, attrs, given, eos);

  const tmpl = mdGet(md, "tokenizer.chat_template");
  return {
    model,
    pre: (mdGet(md, "tokenizer.ggml.pre") as string | undefined) ?? undefined,
    tokens,
    textToId,
    scores,
    attrs,
    merges,
    bos,
    eos,
    eot: roles.eot,
    eom: roles.eom,
    fim: {
      pre: roles.fimPre,
      suf: roles.fimSuf,
      mid: roles.fimMid,
      pad: roles.fimPad,
      rep: roles.fimRep,
      sep: roles.fimSep,
    },
    unk,
    pad,
    addBos: optBool(md, "tokenizer.ggml.add_bos_token"),
    addEos: optBool(md, "tokenizer.ggml.add_eos_token"),
    addSpacePrefix: optBool(md, "tokenizer.ggml.add_space_prefix"),
    chatTemplate: typeof tmpl === "string" ? tmpl : undefined,
    eog,
  };
}
