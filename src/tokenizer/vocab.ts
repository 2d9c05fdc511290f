/**
 * The vocabulary as read from GGUF `tokenizer.ggml.*` metadata: token texts, scores, types,
 * merges, special ids and flags. Accepts a Map or a plain object of metadata key -> JS value
 * (strings, numbers, bigint, booleans, string[] and typed arrays), so it does not depend on how
 * the GGUF was read.
 */
import { TokenizerError } from "../errors.js";

/** GGUF tokenizer.ggml.token_type values. */
export enum TokenType {
  Undefined = 0,
  Normal = 1,
  Unknown = 2,
  Control = 3,
  UserDefined = 4,
  Unused = 5,
  Byte = 6,
}

/** Per-token attribute bits (derived from the token type, plus fix-ups for well-known tokens). */
export const Attr = {
  Unknown: 1 << 0,
  Unused: 1 << 1,
  Normal: 1 << 2,
  Control: 1 << 3,
  UserDefined: 1 << 4,
  Byte: 1 << 5,
  Lstrip: 1 << 7,
  Rstrip: 1 << 8,
} as const;

export type MetadataValue = unknown;
export type Metadata = Map<string, MetadataValue> | Record<string, MetadataValue>;

/** Read one key from either a Map or a plain record. */
export function mdGet(md: Metadata, key: string): MetadataValue {
  return md instanceof Map ? md.get(key) : (md as Record<string, MetadataValue>)[key];
}

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
  unk: number;
  pad: number;
  /** undefined = family default. */
  addBos: boolean | undefined;
  addEos: boolean | undefined;
  addSpacePrefix: boolean | undefined;
  chatTemplate: string | undefined;
  /** Ids that end generation (EOS, EOT, EOM and the well-known end-of-turn tokens). */
  eog: Set<number>;
}

/** Texts of tokens that end a turn in common vocabularies; such tokens are forced to CONTROL. */
const EOT_TEXTS = [
  "<|eot_id|>",
  "<|im_end|>",
  "<|end|>",
  "<end_of_turn>",
  "<|endoftext|>",
  "<|end_of_text|>",
  "<EOT>",
  "_<EOT>",
  "[EOT]",
  "<｜end▁of▁sentence｜>",
  "<end_of_utterance>",
];
const EOG_TEXTS = new Set([
  ...EOT_TEXTS,
  "<|return|>",
  "<|call|>",
  "<|flush|>",
  "<|calls|>",
  "</s>",
  "<|eom_id|>",
  "[EOS]",
  "<eos>",
  "<turn|>",
  "<|tool_response>",
]);
// Fill-in-the-middle padding / repo / file-separator tokens also end generation.
const FIM_EOG_TEXTS = [
  ["<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]"],
  ["<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>"],
  ["<|file_sep|>", "<|file_separator|>", "<file_sep>", "<filename>"],
];

function requireKey(md: Metadata, key: string): MetadataValue {
  const v = mdGet(md, key);
  if (v === undefined) throw new TokenizerError("missing tokenizer metadata", { field: key });
  return v;
}

function asStringArray(v: MetadataValue, key: string): string[] {
  if (!Array.isArray(v) || v.some((x) => typeof x !== "string")) {
    throw new TokenizerError("expected an array of strings", { field: key });
  }
  return v as string[];
}

function asNumberArray(v: MetadataValue, key: string, n: number): ArrayLike<number> {
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

function optId(md: Metadata, key: string, n: number, dflt: number): number {
  const v = mdGet(md, key);
  if (v === undefined) return dflt;
  const id = typeof v === "bigint" ? Number(v) : v;
  if (typeof id !== "number" || !Number.isInteger(id) || id < 0) {
    throw new TokenizerError(`expected a token id, got ${String(v)}`, { field: key });
  }
  // The reference ignores an out-of-range id and keeps the default.
  return id < n ? id : dflt;
}

function optBool(md: Metadata, key: string): boolean | undefined {
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
export function readVocab(md: Metadata): VocabData {
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
  let eot = optId(md, "tokenizer.ggml.eot_token_id", n, -1);
  let eom = optId(md, "tokenizer.ggml.eom_token_id", n, -1);

  // Well-known end-of-turn tokens: pick EOT/EOM if not given, and mark every end-of-generation
  // text as CONTROL (some converters leave them NORMAL, which would make them plain text).
  if (eot < 0) eot = EOT_TEXTS.map((t) => textToId.get(t)).find((x) => x !== undefined) ?? -1;
  if (eom < 0) eom = textToId.get("<|eom_id|>") ?? -1;
  const eog = new Set<number>();
  for (const group of FIM_EOG_TEXTS) {
    const id = group.map((t) => textToId.get(t)).find((x) => x !== undefined);
    if (id !== undefined) {
      eog.add(id);
      attrs[id] |= Attr.Control;
    }
  }
  for (const t of EOG_TEXTS) {
    const id = textToId.get(t);
    if (id !== undefined) {
      eog.add(id);
      attrs[id] |= Attr.Control;
    }
  }
  for (const id of [eos, eot, eom]) if (id >= 0) eog.add(id);
  // Harmony-style vocabularies end a message with <|return|>/<|call|>; there <|end|> is not the end.
  const endId = textToId.get("<|end|>");
  if (endId !== undefined && eog.has(endId)) {
    const has = (t: string) => {
      const id = textToId.get(t);
      return id !== undefined && eog.has(id);
    };
    if ((has("<|return|>") && has("<|call|>")) || (has("<|calls|>") && has("<|flush|>"))) {
      eog.delete(endId);
      attrs[endId] = Attr.UserDefined;
    }
  }

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
    eot,
    eom,
    unk,
    pad,
    addBos: optBool(md, "tokenizer.ggml.add_bos_token"),
    addEos: optBool(md, "tokenizer.ggml.add_eos_token"),
    addSpacePrefix: optBool(md, "tokenizer.ggml.add_space_prefix"),
    chatTemplate: typeof tmpl === "string" ? tmpl : undefined,
    eog,
  };
}
