/**
 * A deterministic hard corpus for tokenizer conformance: CJK prose, emoji and ZWJ sequences,
 * source code, numbers of many lengths, whitespace runs, mixed scripts, special-token text,
 * lone surrogates and detokenizer clean-up cases. Fixed strings plus seeded random mixes of them.
 */

const zh = [
  "我想在apple工作1314151天～",
  "北京是中华人民共和国的首都，也是全国的政治、文化中心。",
  "今天天气很好，我们去公园散步吧！你觉得怎么样？",
  "机器学习是人工智能的一个分支，它使计算机能够从数据中学习。",
  "《红楼梦》是中国古典四大名著之一，作者曹雪芹。",
  "他说：“这不是我的错。”然后转身离开了。",
  "繁體中文與簡體中文的區別在於字形。",
  "一二三四五六七八九十百千万亿",
];
const ja = [
  "吾輩は猫である。名前はまだ無い。",
  "東京タワーは１９５８年に完成しました。",
  "ひらがなとカタカナと漢字が混ざった文章です。",
  "すみません、駅はどこですか？",
  "ｶﾀｶﾅ半角テキストとＡＢＣ全角英字",
  "日本語の文章では、句読点「、」と「。」を使います。",
];
const emoji = [
  "😀",
  "🚀 (normal) 😶\u200d🌫️ (multiple emojis concatenated) ✅ 🦙🦙",
  "👨\u200d👩\u200d👧\u200d👦 family",
  "👍🏽👍🏿👋🏻",
  "🇯🇵🇺🇸🇩🇪 flags",
  "🏳️\u200d🌈 and 🏴\u200d☠️",
  "❤️‍🔥 heart on fire",
  "🧑🏾\u200d💻 coding",
  "text😀text😀😀text",
  "©®™ ☺︎ ☺️",
];
const code = [
  "function add(a, b) {\n  return a + b;\n}\n",
  "def fib(n):\n    if n < 2:\n        return n\n    return fib(n-1) + fib(n-2)\n",
  '#include <stdio.h>\nint main(void) {\n\tprintf("hello\\n");\n\treturn 0;\n}\n',
  '{"key": "value", "list": [1, 2, 3], "nested": {"a": null, "b": true}}',
  '<div class="box"><p>Hello &amp; welcome</p></div>',
  "SELECT id, name FROM users WHERE age >= 18 ORDER BY name DESC;",
  "const re = /^[a-z0-9_.-]+@([a-z]+\\.)+[a-z]{2,}$/i;",
  "for (let i = 0; i < n; ++i) { sum += arr[i] * 2; }",
  "    if x:\n        pass\n    else:\n\t\treturn None",
  // biome-ignore lint/suspicious/noTemplateCurlyInString: corpus text, the ${x} is the point
  "x=>x**2; y ??= 0; a?.b?.c; `template ${x}`",
  "fn main() -> Result<(), Box<dyn Error>> { Ok(()) }",
  "$ ls -la | grep '^d' && echo \"done\" > /dev/null 2>&1",
  "```python\nprint('hi')\n```",
  "# Title\n\n- item 1\n- item 2\n\n> quote",
];
const numbers = [
  "3 33 333 3333 33333 333333 3333333 33333333 3.3 3..3 3...3",
  "0",
  "1234567890123456789012345678901234567890",
  "3.14159265358979",
  "1,000,000.00",
  "-42 +17 1e10 6.02e23 0x1F 0b1010",
  "2024-01-15T10:30:00Z",
  "phone: 555-123-4567",
  "١٢٣٤٥ ٦٧٨٩٠",
  "१२३४५ ๑๒๓",
  "①②③ ⅠⅡⅢ ½ ¾",
  "v1.2.3-beta.4",
];
const ws = [
  "\n \n\n \n\n\n \t \t\t \t\n  \n   \n    \n     \n",
  " ",
  "  ",
  "   leading spaces",
  "trailing spaces   ",
  "\t\ttabs\t\t",
  "a\r\nb\r\n\r\nc",
  "\n\n\n\n",
  "word \u00a0nbsp\u3000ideographic\u2003em",
  "\u0085next line\u0085",
  "\ufeffBOM at start",
  "zero\u200bwidth\u200cnon\u200djoiner",
  "mixed \t \n \r \v \f whitespace",
  "               many spaces               ",
  "a\u2028b\u2029c",
];
const scripts = [
  "нещо на Български",
  "Привет, как дела? Всё хорошо.",
  "مرحبا بالعالم، كيف حالك؟",
  "नमस्ते दुनिया, आप कैसे हैं?",
  "สวัสดีครับ ยินดีต้อนรับ",
  "안녕하세요 세계! 반갑습니다.",
  "Γειά σου Κόσμε",
  "שלום עולם",
  "កាន់តែពិសេសអាច",
  "Ελληνικά and English and 中文 and русский",
  "Ça va? Où est l'hôtel? Größe Straße ñandú",
  "e\u0301 a\u0300 o\u0308 (combining marks)",
  "ﬁ ﬂ ﬀ ligatures",
  "ǅ ǈ titlecase Ǳ",
  "ſ long s, K kelvin",
];
const contractions = [
  "I've been 'told he's there, 'RE you sure? 'M not sure I'll make it, 'D you like some tea? We'Ve a'lL",
  "Hello , world . How are you ? Fine !",
  "it ' s a test ' quote '",
  "don't won't can't shouldn't y'all",
  "''''''```````\"\"\"\"......!!!!!!??????",
  "------======= ~~~~ ____ ****",
  "He said 'hi' and left.",
  "rock 'n' roll",
];
const special = [
  "<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n",
  "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>",
  "<s>[INST] Hello [/INST] Hi</s>",
  "<bos><start_of_turn>user\nhello<end_of_turn>\n<start_of_turn>model\n",
  "<｜begin▁of▁sentence｜><｜User｜>hi<｜Assistant｜>",
  "<think>reasoning</think>answer",
  '<tool_call>{"name": "f"}</tool_call>',
  "text<|endoftext|>more text",
  "<|im_start|><|im_start|>",
  "<|im_start",
  "< s > <s > </s>",
  "<unk><pad><mask>",
  "<|fim_prefix|>a<|fim_suffix|>b<|fim_middle|>",
  " <|im_start|> spaced <|im_end|> ",
  "<start_of_image><end_of_image>",
  "<|reserved_special_token_0|>",
];
const surrogates = ["\ud800", "a\udc00b", "\udc00\ud800", "x\ud83d", "\ud83dy", "ok\ud83d\ude00ok\ud800"];
const misc = [
  "",
  "a",
  "A",
  ".",
  "Hello world",
  " Hello world",
  "Hello World",
  "HELLO WORLD",
  "The quick brown fox jumps over the lazy dog.",
  "https://example.com/path?query=1&x=y#frag",
  "user@example.com",
  "CamelCaseWordsAndSNAKE_CASE_words",
  "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz",
  "\u0000\u0001\u0007\u001b[31mred\u001b[0m",
  "\u00ad soft hyphen",
  "\ue000 private use \uf8ff",
  "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝕓𝕠𝕝𝕕",
  "\u{10ffff}\u{1f9ff}",
  "Ａ Ｂ Ｃ ｆｕｌｌｗｉｄｔｈ",
];

export const CATEGORIES: Record<string, string[]> = {
  zh,
  ja,
  emoji,
  code,
  numbers,
  ws,
  scripts,
  contractions,
  special,
  surrogates,
  misc,
};

/** Small deterministic PRNG (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The corpus: all fixed strings, digit runs of every length 1..40, whitespace runs, then seeded mixes. */
export function buildCorpus(size = 560, seed = 1234): string[] {
  const out: string[] = Object.values(CATEGORIES).flat();
  for (let n = 1; n <= 40; n++) out.push("7".repeat(n), "x" + "1234567890".repeat(4).slice(0, n) + "y");
  for (const w of [" ", "\t", "\n", "\r\n", " \n", "\u3000"])
    for (const n of [2, 3, 5, 8, 17]) out.push("a" + w.repeat(n) + "b", w.repeat(n));
  const all = Object.values(CATEGORIES).flat();
  const seps = ["", " ", "\n", "  ", "\t", "\n\n", " \n ", ", "];
  const r = rng(seed);
  while (out.length < size) {
    const k = 2 + Math.floor(r() * 3);
    let s = "";
    for (let i = 0; i < k; i++) {
      let piece = all[Math.floor(r() * all.length)];
      // Sometimes cut a piece at a random code unit (can split surrogate pairs on purpose).
      if (r() < 0.3 && piece.length > 2) piece = piece.slice(Math.floor(r() * piece.length));
      s += (i > 0 ? seps[Math.floor(r() * seps.length)] : "") + piece;
    }
    out.push(s);
  }
  return out;
}
