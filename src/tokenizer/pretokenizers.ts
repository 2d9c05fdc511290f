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
  // Qwen3.5: qwen2's split with combining marks (\p{M}) kept inside letter runs, out of punctuation runs.
  qwen35: `${CONTRACTIONS}|[^\\r\\n\\p{L}\\p{N}]?[\\p{L}\\p{M}]+|\\p{N}| ?[^\\s\\p{L}\\p{M}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+`,
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
    "\\s?[A-Za-z\\u{b5}\\u{c0}-\\u{d6}\\u{d8}-\\u{f6}\\u{f8}-\\u{1ba}\\u{1bc}-\\u{1bf}\\u{1c4}-\\u{293}\\u{295}-\\u{2af}\\u{370}-\\u{373}\\u{376}\\u{377}\\u{37b}-\\u{37d}\\u{37f}\\u{386}\\u{388}-\\u{38a}\\u{38c}\\u{38e}-\\u{3a1}\\u{3a3}-\\u{3f5}\\u{3f7}-\\u{481}\\u{48a}-\\u{52f}\\u{531}-\\u{556}\\u{10a0}-\\u{10c5}\\u{13a0}-\\u{13f5}\\u{13f8}-\\u{13fd}\\u{1c90}-\\u{1cba}\\u{1cbd}-\\u{1cbf}\\u{1d00}-\\u{1d2b}\\u{1d6b}-\\u{1d77}\\u{1d79}-\\u{1d9a}\\u{1e00}-\\u{1f15}\\u{1f18}-\\u{1f1d}\\u{1f20}-\\u{1f45}\\u{1f48}-\\u{1f4d}\\u{1f50}-\\u{1f57}\\u{1f59}\\u{1f5b}\\u{1f5d}\\u{1f5f}-\\u{1f7d}\\u{1f80}-\\u{1fb4}\\u{1fb6}-\\u{1fbc}\\u{1fbe}\\u{1fc2}-\\u{1fc4}\\u{1fc6}-\\u{1fcc}\\u{1fd0}-\\u{1fd3}\\u{1fd6}-\\u{1fdb}\\u{1fe0}-\\u{1fec}\\u{1ff2}-\\u{1ff4}\\u{1ff6}-\\u{1ffc}\\u{2102}\\u{2107}\\u{210a}-\\u{2113}\\u{2115}\\u{2119}-\\u{211d}\\u{2124}\\u{2126}\\u{2128}\\u{212a}-\\u{212d}\\u{212f}-\\u{2134}\\u{2139}\\u{213c}-\\u{213f}\\u{2145}-\\u{2149}\\u{214e}\\u{2183}\\u{2184}\\u{2c00}-\\u{2c7b}\\u{2c7e}-\\u{2ce4}\\u{2ceb}-\\u{2cee}\\u{2cf2}\\u{2cf3}\\u{a640}-\\u{a66d}\\u{a680}-\\u{a69b}\\u{a722}-\\u{a76f}\\u{a771}-\\u{a787}\\u{a78b}-\\u{a78e}\\u{ab70}-\\u{abbf}\\u{fb00}-\\u{fb06}\\u{fb13}-\\u{fb17}\\u{ff21}-\\u{ff3a}\\u{ff41}-\\u{ff5a}\\u{10400}-\\u{1044f}\\u{104b0}-\\u{104d3}\\u{104d8}-\\u{104fb}\\u{10c80}-\\u{10cb2}\\u{10cc0}-\\u{10cf2}\\u{118a0}-\\u{118df}\\u{1e900}-\\u{1e943}]+",
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
  qwen35: { sources: [P.qwen35], cleanSpaces: false },
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
  kormo: "qwen2",
  f2llmv2: "qwen2",
  qwen35: "qwen35",
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
