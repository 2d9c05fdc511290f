/**
 * Pre-tokenizers for byte-level BPE, keyed by the GGUF `tokenizer.ggml.pre` value.
 *
 * A pre-tokenizer is a list of split regexes applied in order: each regex runs separately inside
 * every piece produced so far, and both its matches and the gaps between them become pieces (HF
 * "Isolated" split behaviour). Lookaheads and `$` therefore stop at the piece boundary.
 *
 * The patterns are the ones the models' HF tokenizer.json files declare, in the form the reference
 * (llama.cpp) runs them: case-insensitive contraction groups spelled out as `'[sS]`, and `\s`
 * meaning the reference's whitespace set (see unicode.ts), not JavaScript's.
 *
 * An unknown `tokenizer.ggml.pre` is an error: silently falling back to another split changes
 * token ids.
 */
import { TokenizerError } from "../errors.js";
import { WS_CLASS_BODY } from "./unicode.js";

export interface PreTokenizer {
  /** The canonical name of the family (the reference's pre-type), e.g. "llama3". */
  readonly family: string;
  /** Split regexes, compiled with the `gu` flags. */
  readonly regexes: readonly RegExp[];
  /** When a whole piece is itself a vocabulary token, emit it without running merges (Llama 3). */
  readonly ignoreMerges: boolean;
  /** Detokenizer post-pass that removes spaces before punctuation / in contractions. */
  readonly cleanSpaces: boolean;
  /** Family default for adding BOS when the GGUF does not say (overridden by tokenizer.ggml.add_bos_token). */
  readonly addBosDefault: boolean;
}

const CONTRACTIONS = "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])";

// Pattern sources. Written with `\s`/`\S`; translateWhitespace() swaps in the reference's set.
const P = {
  gpt2: "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)",
  llama3: `${CONTRACTIONS}|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+`,
  qwen2: `${CONTRACTIONS}|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+`,
  // DeepSeek V3: digits in groups of up to 3, then runs of CJK ideographs and kana, then the main split.
  deepseekV3: [
    "\\p{N}{1,3}",
    "[\\u4e00-\\u9fa5\\u3040-\\u309f\\u30a0-\\u30ff]+",
    "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\\r\\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
  ],
  // DeepSeek LLM (v1/v2): newlines, letter runs with an optional leading space, ASCII/fullwidth
  // punctuation runs, trailing whitespace, CJK runs, digit runs. The letter class is the explicit
  // code point list from the model's tokenizer.json.
  deepseekLlm: [
    "[\\r\\n]",
    "\\s?[A-Za-zµÀ-ÖØ-öø-ƺƼ-ƿǄ-ʓʕ-ʯͰ-ͳͶͷͻ-ͽͿΆΈ-ΊΌΎ-ΡΣ-ϵϷ-ҁҊ-ԯԱ-ՖႠ-ჅᎠ-Ᏽᏸ-ᏽᲐ-ᲺᲽ-Ჿᴀ-ᴫᵫ-ᵷᵹ-ᶚḀ-ἕἘ-Ἕἠ-ὅὈ-Ὅὐ-ὗὙὛὝὟ-ώᾀ-ᾴᾶ-ᾼιῂ-ῄῆ-ῌῐ-ΐῖ-Ίῠ-Ῥῲ-ῴῶ-ῼℂℇℊ-ℓℕℙ-ℝℤΩℨK-ℭℯ-ℴℹℼ-ℿⅅ-ⅉⅎↃↄⰀ-ⱻⱾ-ⳤⳫ-ⳮⳲⳳꙀ-ꙭꚀ-ꚛꜢ-ꝯꝱ-ꞇꞋ-ꞎꭰ-ꮿﬀ-ﬆﬓ-ﬗＡ-Ｚａ-ｚ𐐀-𐑏𐒰-𐓓𐓘-𐓻𐲀-𐲲𐳀-𐳲𑢠-𑣟𞤀-𞥃]+",
    "\\s?[!-/:-~！-／：-～‘-‟　-。]+",
    "\\s+$",
    "[一-龥ࠀ-一가-퟿]+",
    "\\p{N}+",
  ],
  deepseekCoder: ["[\\r\\n]", "\\s?\\p{L}+", "\\s?\\p{P}+", "[一-龥ࠀ-一가-퟿]+", "\\p{N}"],
  // GPT-4o / o200k: upper-then-lower letter runs with optional contraction suffix. `[^a-z]` /
  // `[^A-Z]` guarded by a letter lookahead stand for the case classes, as in the reference.
  gpt4o:
    `[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))*((?=[\\p{L}])([^A-Z]))+${CONTRACTIONS}?` +
    `|[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))+((?=[\\p{L}])([^A-Z]))*${CONTRACTIONS}?` +
    "|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
  defaultBpe: ["[\\p{P}\\$\\+<=>\\^~\\|]+", "", "\\p{N}+", "[0-9][0-9][0-9]"],
  falcon: ["[\\p{P}\\$\\+<=>\\^~\\|`]+", "", "[0-9][0-9][0-9]"],
  chatglm4: `${CONTRACTIONS}|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+`,
};

/** Replace `\s` / `\S` with the reference's whitespace set, inside and outside character classes. */
export function translateWhitespace(src: string): string {
  let out = "";
  let inClass = false;
  for (let i = 0; i < src.length; i++) {
    const c = src[i];
    if (c === "\\" && i + 1 < src.length) {
      const n = src[i + 1];
      if (n === "s") out += inClass ? WS_CLASS_BODY : `[${WS_CLASS_BODY}]`;
      else if (n === "S") {
        if (inClass)
          throw new TokenizerError(`\\S inside a character class is not supported in pattern ${src}`);
        out += `[^${WS_CLASS_BODY}]`;
      } else out += c + n;
      i++;
      continue;
    }
    if (c === "[" && !inClass) inClass = true;
    else if (c === "]" && inClass) inClass = false;
    out += c;
  }
  return out;
}

function compile(sources: readonly string[]): RegExp[] {
  return sources.map((s) => new RegExp(translateWhitespace(s === "" ? P.gpt2 : s), "gu"));
}

interface Family {
  sources: readonly string[];
  ignoreMerges?: boolean;
  cleanSpaces?: boolean;
  addBosDefault?: boolean;
}

const FAMILIES: Record<string, Family> = {
  default: { sources: P.defaultBpe, cleanSpaces: true },
  llama3: { sources: [P.llama3], ignoreMerges: true, cleanSpaces: true, addBosDefault: true },
  qwen2: { sources: [P.qwen2], cleanSpaces: false },
  "deepseek-llm": { sources: P.deepseekLlm, cleanSpaces: false },
  "deepseek-coder": { sources: P.deepseekCoder, cleanSpaces: false },
  "deepseek-v3": { sources: P.deepseekV3, cleanSpaces: false },
  "gpt-4o": { sources: [P.gpt4o], cleanSpaces: false },
  // starcoder / smollm / refact / command-r / codeshell / exaone / minerva: single digits, then GPT-2.
  starcoder: { sources: ["\\p{N}", P.gpt2], cleanSpaces: true },
  smollm: { sources: ["\\p{N}", P.gpt2], cleanSpaces: false },
  gpt2: { sources: [P.gpt2], cleanSpaces: true },
  falcon: { sources: P.falcon, cleanSpaces: true },
  chatglm4: { sources: [P.chatglm4], cleanSpaces: true },
};

/** tokenizer.ggml.pre value -> family. Aliases are the names converters write for the same split. */
const PRE_TO_FAMILY: Record<string, string> = {
  default: "default",
  "llama-bpe": "llama3",
  llama3: "llama3",
  "llama-v3": "llama3",
  falcon3: "llama3",
  pixtral: "llama3",
  dbrx: "llama3",
  "smaug-bpe": "llama3",
  qwen2: "qwen2",
  "deepseek-r1-qwen": "qwen2",
  stablelm2: "qwen2",
  hunyuan: "qwen2",
  megrez: "qwen2",
  "deepseek-llm": "deepseek-llm",
  "deepseek-coder": "deepseek-coder",
  "deepseek-v3": "deepseek-v3",
  "gpt-4o": "gpt-4o",
  llama4: "gpt-4o",
  smollm: "smollm",
  starcoder: "starcoder",
  refact: "starcoder",
  codeshell: "starcoder",
  "command-r": "smollm",
  "gpt-2": "gpt2",
  "phi-2": "gpt2",
  mpt: "gpt2",
  olmo: "gpt2",
  falcon: "falcon",
  "chatglm-bpe": "chatglm4",
  glm4: "chatglm4",
};

const cache = new Map<string, PreTokenizer>();

/** The names accepted for tokenizer.ggml.pre. */
export function knownPreTokenizers(): string[] {
  return Object.keys(PRE_TO_FAMILY).sort();
}

/**
 * The pre-tokenizer for a `tokenizer.ggml.pre` value. A missing value means "default" (as the
 * reference does, with a warning); an unknown one throws.
 */
export function preTokenizerFor(pre: string | undefined): PreTokenizer {
  const name = pre === undefined || pre === "" ? "default" : pre;
  const family = PRE_TO_FAMILY[name];
  if (family === undefined) {
    throw new TokenizerError(`unknown pre-tokenizer '${name}'`, {
      field: "tokenizer.ggml.pre",
      hint: `supported: ${knownPreTokenizers().join(", ")}`,
    });
  }
  let p = cache.get(family);
  if (!p) {
    const f = FAMILIES[family];
    p = {
      family,
      regexes: compile(f.sources),
      ignoreMerges: f.ignoreMerges ?? false,
      cleanSpaces: f.cleanSpaces ?? true,
      addBosDefault: f.addBosDefault ?? false,
    };
    cache.set(family, p);
  }
  return p;
}

/**
 * Split text into pre-token pieces. Each regex runs within each current piece; matches and the
 * gaps between them both become pieces. Returns the pieces in order (never empty strings).
 */
export function preTokenize(text: string, pre: PreTokenizer): string[] {
  let pieces = [text];
  for (const re of pre.regexes) {
    const next: string[] = [];
    for (const piece of pieces) {
      let last = 0;
      re.lastIndex = 0;
      for (let m = re.exec(piece); m !== null; m = re.exec(piece)) {
        const s = m.index;
        const len = m[0].length;
        if (len === 0) {
          // Empty match: advance one code point so the scan terminates (gaps are kept as pieces).
          re.lastIndex = s + (piece.codePointAt(s)! > 0xffff ? 2 : 1);
          continue;
        }
        if (s > last) next.push(piece.slice(last, s));
        next.push(m[0]);
        last = s + len;
      }
      if (last < piece.length) next.push(piece.slice(last));
    }
    pieces = next;
  }
  return pieces;
}
