/**
 * Hugging Face tokenizer.json (+ tokenizer_config.json) -> GGUF `tokenizer.ggml.*` metadata,
 * following llama.cpp's converter (convert_hf_to_gguf.py + gguf-py/gguf/vocab.py):
 *
 * - Byte-level BPE (decoder ByteLevel) -> model "gpt2": tokens by id (holes become "[PAD<i>]",
 *   UNUSED), merges as "left right" strings (pair-form merges get spaces re-encoded as U+0120),
 *   added tokens CONTROL when special or special-looking ("<|...|>", "<｜...｜>", "<unused...>"),
 *   else USER_DEFINED; `pre` from the pre-tokenizer regexes (the converter hashes a probe
 *   string's tokens; we recognise the split patterns themselves).
 * - SentencePiece-derived BPE with byte fallback (decoder Sequence) -> model "llama": tokens,
 *   scores and types as the sentencepiece path writes them. tokenizer.json carries no piece
 *   scores, so we derive them from the merges: HF's SentencePiece->BPE conversion lists merges in
 *   order of the merged piece's score, so a piece's score is minus the rank of the first merge
 *   producing it (pieces no merge produces score below all of those). This restores the score
 *   order of the original model; the reference's tokenizer.json fallback (LlamaHfVocab) writes
 *   -1000 for every piece, which degenerates the score-driven merge into left-to-right merging.
 *   Byte/control/unknown pieces score 0, added tokens -1000, as the converter does.
 * - Special ids (bos/eos/unk/sep/pad/...), add_bos/add_eos (from the post-processor template and
 *   tokenizer_config `add_*_token`) and the chat template.
 */
import { TokenizerError } from "../errors.js";
import { TokenType } from "./vocab.js";
import { isObj, type Obj } from "../json.js";

export interface HFAddedToken {
  id: number;
  content: string;
  special?: boolean;
  normalized?: boolean;
}

export interface HFTokenizerJSON {
  model: {
    type: string;
    vocab: Record<string, number>;
    merges?: (string | [string, string])[];
    byte_fallback?: boolean;
    ignore_merges?: boolean;
    unk_token?: string | null;
  };
  added_tokens?: HFAddedToken[];
  pre_tokenizer?: unknown;
  decoder?: { type?: string } | null;
  normalizer?: unknown;
  post_processor?: unknown;
}

export interface ConvertOptions {
  /** Force tokenizer.ggml.pre (byte-level BPE); otherwise recognised from the pre-tokenizer. */
  pre?: string;
  /** Vocabulary size (config.json vocab_size); defaults to the largest id + 1. */
  vocabSize?: number;
  /** Override add_space_prefix (the Gemma converters write false). */
  addSpacePrefix?: boolean;
}

export type GGUFTokenizerRecord = Record<
  string,
  string | boolean | number | string[] | Int32Array | Float32Array
>;

/** Tokens the converter treats as control even when not flagged special. */
export function looksSpecial(t: string): boolean {
  return (
    t === "<pad>" ||
    t === "<mask>" ||
    t === "<2mass>" ||
    t === "[@BOS@]" ||
    (t.startsWith("<|") && t.endsWith("|>")) ||
    (t.startsWith("<｜") && t.endsWith("｜>")) ||
    (t.startsWith("<unused") && t.endsWith(">"))
  );
}

/** Split regexes of a pre_tokenizer (Split steps, possibly inside a Sequence). */
function splitPatterns(pt: unknown): string[] {
  if (!isObj(pt)) return [];
  if (pt.type === "Sequence" && Array.isArray(pt.pretokenizers))
    return pt.pretokenizers.flatMap(splitPatterns);
  if (pt.type === "Split" && isObj(pt.pattern) && typeof pt.pattern.Regex === "string")
    return [pt.pattern.Regex];
  return [];
}

const LLAMA3_RE =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const QWEN2_RE =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

/** Recognise tokenizer.ggml.pre from the split patterns. */
export function detectPre(tj: HFTokenizerJSON): string {
  const pats = splitPatterns(tj.pre_tokenizer);
  if (pats.length === 1 && pats[0] === LLAMA3_RE) return "llama-bpe";
  if (pats.length === 1 && pats[0] === QWEN2_RE) return "qwen2";
  if (
    pats.length === 3 &&
    pats[0] === "\\p{N}{1,3}" &&
    pats[1].startsWith("[\u4e00-\u9fa5") &&
    pats[2].includes("[\\p{L}\\p{M}]+")
  ) {
    return "deepseek-v3";
  }
  throw new TokenizerError("unrecognised pre-tokenizer; pass the tokenizer.ggml.pre name explicitly", {
    field: "pre_tokenizer",
    hint: `patterns: ${JSON.stringify(pats).slice(0, 300)}`,
  });
}

function contentOf(entry: unknown): string | undefined {
  if (typeof entry === "string") return entry;
  if (isObj(entry) && typeof entry.content === "string") return entry.content;
  return undefined;
}

const SPECIAL_TYPES = ["bos", "eos", "unk", "sep", "pad", "cls", "mask"] as const;
const ID_KEY: Record<string, string> = {
  bos: "tokenizer.ggml.bos_token_id",
  eos: "tokenizer.ggml.eos_token_id",
  unk: "tokenizer.ggml.unknown_token_id",
  sep: "tokenizer.ggml.seperator_token_id", // sic: the GGUF key is spelled this way
  pad: "tokenizer.ggml.padding_token_id",
  cls: "tokenizer.ggml.cls_token_id",
  mask: "tokenizer.ggml.mask_token_id",
  eot: "tokenizer.ggml.eot_token_id",
  eom: "tokenizer.ggml.eom_token_id",
};

/** Special ids, add_* flags and chat template, as gguf-py's SpecialVocab collects them. */
function specialVocab(tj: HFTokenizerJSON, cfg: Obj, nVocab: number, out: GGUFTokenizerRecord): void {
  const config: Obj = { ...cfg };
  const added = tj.added_tokens ?? [];
  const addFlags: Record<string, boolean> = {};
  const types: string[] = [...SPECIAL_TYPES];
  // Post-processor template: a leading special token means "add BOS", a trailing one "add EOS".
  const pp = tj.post_processor;
  const procs = isObj(pp) ? (Array.isArray(pp.processors) ? pp.processors : [pp]) : [];
  for (const p of procs) {
    if (!isObj(p)) continue;
    if (p.type === "RobertaProcessing") {
      addFlags.bos = addFlags.eos = addFlags.sep = true;
      continue;
    }
    if (p.type !== "TemplateProcessing" || !Array.isArray(p.single) || p.single.length < 2) continue;
    const first = contentOf(
      (p.single[0] as Obj).SpecialToken && ((p.single[0] as Obj).SpecialToken as Obj).id,
    );
    const last = contentOf(
      (p.single[p.single.length - 1] as Obj).SpecialToken &&
        ((p.single[p.single.length - 1] as Obj).SpecialToken as Obj).id,
    );
    const bosC = contentOf(config.bos_token);
    const clsC = contentOf(config.cls_token);
    if (first !== undefined) {
      if (first !== bosC && first !== clsC) {
        if (!bosC) config.bos_token = first;
        if (!clsC) config.cls_token = first;
      }
      addFlags.bos = first === contentOf(config.bos_token) || first === contentOf(config.cls_token);
    }
    if (last !== undefined) {
      const eosC = contentOf(config.eos_token);
      if (last !== eosC) {
        if (!types.includes("eot")) {
          types.push("eot");
          config.eot_token = eosC;
        } else if (!types.includes("eom")) {
          types.push("eom");
          config.eom_token = eosC;
        }
        config.eos_token = last;
      }
      addFlags.eos = true;
    }
  }
  const ids: Record<string, number> = {};
  for (const typ of types) {
    const a = config[`add_${typ}_token`];
    if (typeof a === "boolean") addFlags[typ] = a;
    const c = contentOf(config[`${typ}_token`]);
    if (c === undefined) continue;
    const hit = added.find((t) => t.content === c);
    if (hit && hit.id >= 0 && hit.id < nVocab && ids[typ] === undefined) ids[typ] = hit.id;
  }
  for (const [typ, id] of Object.entries(ids)) if (ID_KEY[typ]) out[ID_KEY[typ]] = id;
  for (const [typ, v] of Object.entries(addFlags)) {
    if (typ === "bos" || typ === "eos") out[`tokenizer.ggml.add_${typ}_token`] = v;
    if (typ === "sep") out["tokenizer.ggml.add_sep_token"] = v;
  }
  const tmpl = cfg.chat_template;
  if (typeof tmpl === "string") out["tokenizer.chat_template"] = tmpl;
  else if (Array.isArray(tmpl)) {
    // Named templates: "default" becomes tokenizer.chat_template, others tokenizer.chat_template.<name>.
    for (const t of tmpl) {
      if (!isObj(t) || typeof t.name !== "string" || typeof t.template !== "string") continue;
      out[t.name === "default" ? "tokenizer.chat_template" : `tokenizer.chat_template.${t.name}`] =
        t.template;
    }
  }
}

function mergesAsStrings(m: (string | [string, string])[] | undefined): string[] {
  if (!m || m.length === 0) return [];
  if (typeof m[0] === "string") return m as string[];
  return (m as [string, string][]).map((pair) => {
    if (!Array.isArray(pair) || pair.length !== 2)
      throw new TokenizerError("unknown merges format", { field: "model.merges" });
    return pair.map((s) => s.replaceAll(" ", "\u0120")).join(" ");
  });
}

/** Convert a tokenizer.json (+ tokenizer_config.json) to a record of tokenizer.ggml.* keys. */
export function convertHFTokenizer(
  tj: HFTokenizerJSON,
  config: Record<string, unknown> = {},
  opts: ConvertOptions = {},
): GGUFTokenizerRecord {
  if (!isObj(tj) || !isObj(tj.model) || !isObj(tj.model.vocab)) {
    throw new TokenizerError("not a tokenizer.json: missing model.vocab", { field: "model" });
  }
  if (tj.model.type !== "BPE") {
    throw new TokenizerError(`unsupported tokenizer.json model type '${String(tj.model.type)}'`, {
      field: "model.type",
      hint: "supported: BPE",
    });
  }
  const decoderType = tj.decoder?.type;
  const spmStyle = tj.model.byte_fallback === true && decoderType === "Sequence";
  return spmStyle ? convertSpm(tj, config, opts) : convertByteLevel(tj, config, opts);
}

function reverseVocab(tj: HFTokenizerJSON): Map<number, string> {
  const rev = new Map<number, string>();
  for (const [t, id] of Object.entries(tj.model.vocab)) rev.set(id, t);
  for (const a of tj.added_tokens ?? []) rev.set(a.id, a.content);
  return rev;
}

function vocabSizeOf(rev: Map<number, string>, opts: ConvertOptions): number {
  let max = -1;
  for (const id of rev.keys()) max = Math.max(max, id);
  const n = opts.vocabSize ?? max + 1;
  if (n <= max)
    throw new TokenizerError(`vocabSize ${n} is smaller than the largest token id ${max}`, {
      field: "vocab_size",
    });
  return n;
}

function convertByteLevel(tj: HFTokenizerJSON, config: Obj, opts: ConvertOptions): GGUFTokenizerRecord {
  const pre = opts.pre ?? detectPre(tj);
  const rev = reverseVocab(tj);
  const n = vocabSizeOf(rev, opts);
  const addedById = new Map((tj.added_tokens ?? []).map((a) => [a.id, a]));
  const tokens: string[] = new Array(n);
  const types = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let t = rev.get(i);
    if (t === undefined) {
      tokens[i] = `[PAD${i}]`;
      types[i] = TokenType.Unused;
      continue;
    }
    const a = addedById.get(i);
    if (a) {
      if (a.special || looksSpecial(t)) types[i] = TokenType.Control;
      else {
        t = t.replaceAll("\u2581", " "); // user-defined tokens are stored pre-normalized
        types[i] = TokenType.UserDefined;
      }
    } else types[i] = TokenType.Normal;
    tokens[i] = t;
  }
  const out: GGUFTokenizerRecord = {
    "tokenizer.ggml.model": "gpt2",
    "tokenizer.ggml.pre": pre,
    "tokenizer.ggml.tokens": tokens,
    "tokenizer.ggml.token_type": types,
    "tokenizer.ggml.merges": mergesAsStrings(tj.model.merges),
  };
  specialVocab(tj, config, n, out);
  if (opts.addSpacePrefix !== undefined) out["tokenizer.ggml.add_space_prefix"] = opts.addSpacePrefix;
  return out;
}

function convertSpm(tj: HFTokenizerJSON, config: Obj, opts: ConvertOptions): GGUFTokenizerRecord {
  const base = new Map<number, string>();
  for (const [t, id] of Object.entries(tj.model.vocab)) base.set(id, t);
  const rev = reverseVocab(tj);
  const n = vocabSizeOf(rev, opts);
  const tokens: string[] = new Array(n);
  const scores = new Float32Array(n).fill(-10000);
  const types = new Int32Array(n).fill(TokenType.Unused);
  const unk = tj.model.unk_token ?? undefined;
  const controls = new Set((tj.added_tokens ?? []).filter((a) => a.special).map((a) => a.content));
  // Score of a piece = -(rank of the first merge that produces it).
  const mergeRank = new Map<string, number>();
  mergesAsStrings(tj.model.merges).forEach((m, rank) => {
    const pos = m.indexOf(" ", 1);
    const merged = pos < 0 ? m : m.slice(0, pos) + m.slice(pos + 1);
    if (!mergeRank.has(merged)) mergeRank.set(merged, rank);
  });
  const nMerges = tj.model.merges?.length ?? 0;
  for (let i = 0; i < n; i++) {
    const t = base.get(i);
    if (t === undefined) {
      tokens[i] = `[PAD${i}]`;
      continue;
    }
    tokens[i] = t;
    if (t === unk) {
      types[i] = TokenType.Unknown;
      scores[i] = 0;
    } else if (/^<0x[0-9A-Fa-f]{2}>$/.test(t)) {
      types[i] = TokenType.Byte;
      scores[i] = 0;
    } else if (controls.has(t)) {
      types[i] = TokenType.Control;
      scores[i] = 0;
    } else {
      types[i] = TokenType.Normal;
      const r = mergeRank.get(t);
      scores[i] = r !== undefined ? -r : -(nMerges + i);
    }
  }
  // Added tokens from tokenizer_config.json's added_tokens_decoder (the converter's source).
  const decoder = isObj(config.added_tokens_decoder) ? config.added_tokens_decoder : {};
  const entries: [number, Obj][] = Object.entries(decoder)
    .filter(([, v]) => isObj(v))
    .map(([k, v]) => [Number(k), v as Obj]);
  if (entries.length === 0)
    for (const a of tj.added_tokens ?? []) entries.push([a.id, { content: a.content, special: a.special }]);
  for (const [id, d] of entries) {
    if (!Number.isInteger(id) || id < 0 || id >= n || typeof d.content !== "string") continue;
    let t = d.content;
    if (d.special === true || looksSpecial(t)) types[id] = TokenType.Control;
    else {
      t = t.replaceAll("\u2581", " ");
      types[id] = TokenType.UserDefined;
    }
    scores[id] = -1000;
    tokens[id] = t;
  }
  const out: GGUFTokenizerRecord = {
    "tokenizer.ggml.model": "llama",
    "tokenizer.ggml.pre": "default",
    "tokenizer.ggml.tokens": tokens,
    "tokenizer.ggml.scores": scores,
    "tokenizer.ggml.token_type": types,
  };
  specialVocab(tj, config, n, out);
  if (opts.addSpacePrefix !== undefined) out["tokenizer.ggml.add_space_prefix"] = opts.addSpacePrefix;
  return out;
}
