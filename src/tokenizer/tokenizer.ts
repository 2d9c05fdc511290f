/**
 * Tokenizer built from GGUF `tokenizer.ggml.*` metadata alone: text -> ids and ids -> text, with
 * the reference's (llama.cpp) semantics for special tokens, BOS/EOS and detokenization.
 */
import { InputError, TokenizerError } from "../errors.js";
import { BpeModel } from "./bpe.js";
import { preTokenizerFor } from "./pretokenizers.js";
import { SpecialMatcher } from "./special.js";
import { SpmModel } from "./spm.js";
import { byteDecodeToBytes, utf8Decode, utf8Encode } from "./unicode.js";
import type { MetadataLike as Metadata } from "../gguf/getters.js";
import { Attr, readVocab, type VocabData } from "./vocab.js";

export interface EncodeOptions {
  /** Add BOS/EOS as the vocabulary asks (tokenizer.ggml.add_bos_token / add_eos_token). Default false. */
  addSpecial?: boolean;
  /** Match control-token text such as "<|im_start|>" in the input. Default false. */
  parseSpecial?: boolean;
}

export interface DecodeOptions {
  /** Render control tokens as their text. Default false (they decode to nothing). */
  special?: boolean;
  /** Drop a leading BOS / trailing EOS the vocabulary adds. Default false. */
  removeSpecial?: boolean;
}

const SPACE = 0x20;

export class Tokenizer {
  readonly vocab: VocabData;
  readonly addBos: boolean;
  readonly addEos: boolean;
  readonly addSpacePrefix: boolean;
  /** Detokenizer post-pass removing spaces before punctuation and in contractions. */
  readonly cleanSpaces: boolean;
  private readonly bpe: BpeModel | undefined;
  private readonly spm: SpmModel | undefined;
  private readonly special: SpecialMatcher;
  private readonly pieceCache: (Uint8Array | undefined)[];

  private constructor(vocab: VocabData) {
    this.vocab = vocab;
    if (vocab.model === "gpt2") {
      const pre = preTokenizerFor(vocab.pre);
      this.bpe = new BpeModel(vocab, pre);
      this.addBos = vocab.addBos ?? pre.addBosDefault;
      this.addSpacePrefix = vocab.addSpacePrefix ?? false;
      this.cleanSpaces = pre.cleanSpaces;
    } else {
      this.spm = new SpmModel(vocab);
      this.addBos = vocab.addBos ?? true;
      this.addSpacePrefix = vocab.addSpacePrefix ?? true;
      this.cleanSpaces = false;
    }
    this.addEos = vocab.addEos ?? false;
    if (this.addBos && vocab.bos < 0) {
      throw new TokenizerError("vocabulary asks for BOS but has no BOS id", {
        field: "tokenizer.ggml.bos_token_id",
      });
    }
    if (this.addEos && vocab.eos < 0) {
      throw new TokenizerError("vocabulary asks for EOS but has no EOS id", {
        field: "tokenizer.ggml.eos_token_id",
      });
    }
    this.special = new SpecialMatcher(vocab);
    this.pieceCache = new Array(vocab.tokens.length);
  }

  /** Build from a Map or record of GGUF metadata (tokenizer.ggml.* keys). */
  static fromMetadata(md: Metadata): Tokenizer {
    return new Tokenizer(readVocab(md));
  }

  get nVocab(): number {
    return this.vocab.tokens.length;
  }
  get bos(): number {
    return this.vocab.bos;
  }
  get eos(): number {
    return this.vocab.eos;
  }
  /** Ids that end generation (EOS, EOT, EOM, ...). */
  get eog(): ReadonlySet<number> {
    return this.vocab.eog;
  }
  isEog(id: number): boolean {
    return this.vocab.eog.has(id);
  }
  get chatTemplate(): string | undefined {
    return this.vocab.chatTemplate;
  }

  /** Token id of an exact token text, or undefined. */
  tokenId(text: string): number | undefined {
    return this.vocab.textToId.get(text);
  }

  encode(text: string, opts: EncodeOptions = {}): number[] {
    if (typeof text !== "string") throw new InputError("text to tokenize must be a string");
    const addSpecial = opts.addSpecial ?? false;
    // Lone surrogates become U+FFFD, exactly as converting the JS string to UTF-8 does.
    const frags = this.special.partition(wellFormed(text), opts.parseSpecial ?? false);
    const out: number[] = [];
    if (addSpecial && this.addBos) out.push(this.vocab.bos);
    if (this.spm) {
      let prevSpecial = true; // the first fragment gets the space prefix
      for (const f of frags) {
        if ("id" in f) {
          out.push(f.id);
          prevSpecial = true;
          continue;
        }
        this.spm.encodeFragment(f.text, this.addSpacePrefix && prevSpecial, out);
        prevSpecial = false;
      }
    } else {
      for (const f of frags) {
        if ("id" in f) out.push(f.id);
        else this.bpe!.encodeFragment(f.text, out);
      }
    }
    if (addSpecial && this.addEos) out.push(this.vocab.eos);
    return out;
  }

  private checkId(id: number): void {
    if (!Number.isInteger(id) || id < 0 || id >= this.vocab.tokens.length) {
      throw new InputError(`token id ${id} out of range [0, ${this.vocab.tokens.length})`);
    }
  }

  /** Bytes of one token as the reference renders it (control tokens only when `special`). */
  tokenBytes(id: number, special = false): Uint8Array {
    this.checkId(id);
    const attr = this.vocab.attrs[id];
    if (!special && attr & (Attr.Control | Attr.Unknown)) return EMPTY;
    let b = this.pieceCache[id];
    if (b === undefined) {
      b = this.renderPiece(id, attr);
      this.pieceCache[id] = b;
    }
    return b;
  }

  private renderPiece(id: number, attr: number): Uint8Array {
    const text = this.vocab.tokens[id];
    if (attr & (Attr.Control | Attr.Unknown | Attr.UserDefined)) return utf8Encode(text);
    if (attr & Attr.Normal) {
      if (this.spm) return utf8Encode(text.replaceAll("\u2581", " "));
      const bytes: number[] = [];
      byteDecodeToBytes(text, bytes);
      return Uint8Array.from(bytes);
    }
    if (attr & Attr.Byte) {
      const m = /^<0x([0-9A-Fa-f]{2})>$/.exec(text);
      if (m) return Uint8Array.of(parseInt(m[1], 16));
      const bytes: number[] = [];
      byteDecodeToBytes(text, bytes);
      return Uint8Array.from(bytes.slice(0, 1));
    }
    return EMPTY; // unused / undefined tokens render as nothing
  }

  /**
   * A prompt rendered by a chat template -> ids: control tokens in the text are parsed, and BOS is
   * added as the vocabulary asks unless the template already wrote it (no second BOS).
   */
  encodePrompt(text: string): number[] {
    const bos = this.bos >= 0 ? this.tokenText(this.bos) : undefined;
    return this.encode(text, { addSpecial: !(bos && text.startsWith(bos)), parseSpecial: true });
  }

  /** A token's text (lossy for partial UTF-8 pieces; use tokenBytes or StreamDecoder for streams). */
  tokenText(id: number, special = true): string {
    return utf8Decode(this.tokenBytes(id, special));
  }

  /** The raw vocabulary text of a token (GGUF form). */
  tokenRaw(id: number): string {
    this.checkId(id);
    return this.vocab.tokens[id];
  }

  /** Detokenize as the reference's llama_detokenize does (including its space clean-up pass). */
  decode(ids: ArrayLike<number>, opts: DecodeOptions = {}): string {
    return utf8Decode(this.decodeBytes(ids, opts));
  }

  decodeBytes(ids: ArrayLike<number>, opts: DecodeOptions = {}): Uint8Array {
    let lo = 0;
    let hi = ids.length;
    let removeSpace = this.addSpacePrefix;
    if (opts.removeSpecial && this.addBos && hi > 0 && ids[0] === this.vocab.bos) {
      removeSpace = false;
      lo++;
    }
    if (opts.removeSpecial && this.addEos && hi > lo && ids[hi - 1] === this.vocab.eos) hi--;
    const parts: Uint8Array[] = [];
    let total = 0;
    for (let i = lo; i < hi; i++) {
      let b = this.tokenBytes(ids[i], opts.special ?? false);
      // The first piece loses one leading space (the SentencePiece space prefix).
      if (removeSpace && b.length > 0 && b[0] === SPACE) b = b.subarray(1);
      removeSpace = false;
      parts.push(b);
      total += b.length;
    }
    let buf: Uint8Array = new Uint8Array(total);
    let o = 0;
    for (const p of parts) {
      buf.set(p, o);
      o += p.length;
    }
    if (this.cleanSpaces) buf = cleanSpaces(buf);
    return buf;
  }
}

const EMPTY = new Uint8Array(0);

/**
 * The reference's detokenizer clean-up, three passes over bytes:
 * " ?", " !", " .", " ," lose the space; " ' " becomes "'"; " 's", " 'm", " 're", " 've" lose the space.
 */
export function cleanSpaces(input: Uint8Array): Uint8Array {
  const Q = 0x3f,
    EX = 0x21,
    DOT = 0x2e,
    COMMA = 0x2c,
    AP = 0x27;
  const t = Uint8Array.from(input);
  // pass 1
  let n = t.length;
  let total = n ? 1 : 0;
  for (let i = 1; i < n; i++) {
    const x = t[i];
    if (t[i - 1] === SPACE && (x === Q || x === EX || x === DOT || x === COMMA)) total--;
    t[total++] = x;
  }
  // pass 2
  n = total;
  total = n ? 1 : 0;
  for (let i = 1; i < n; i++) {
    const x = t[i];
    if (x === AP && i + 1 < n && t[i - 1] === SPACE && t[i + 1] === SPACE) {
      total--;
      t[++i] = 0; // the reference blanks the following space and skips over it
    }
    t[total++] = x;
  }
  // pass 3
  n = total;
  total = n ? 1 : 0;
  const s = 0x73,
    m = 0x6d,
    r = 0x72,
    v = 0x76,
    e = 0x65;
  for (let i = 1; i < n; i++) {
    const x = t[i];
    if (t[i - 1] === SPACE && x === AP && i + 1 < n) {
      const x1 = t[i + 1];
      if (x1 === s || x1 === m) total--;
      else if (i + 2 < n && ((x1 === r && t[i + 2] === e) || (x1 === v && t[i + 2] === e))) total--;
    }
    t[total++] = x;
  }
  return t.subarray(0, total);
}

/** Replace lone surrogates by U+FFFD (what converting the JS string to UTF-8 does). */
function wellFormed(s: string): string {
  return /[\uD800-\uDFFF]/.test(s) ? s.replace(/[\uD800-\uDFFF]/gu, "\uFFFD") : s;
}
