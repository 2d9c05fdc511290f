/**
 * The 1 MB mixed-script text of the throughput checks: corpus strings (CJK, emoji, code, numbers,
 * whitespace runs; no lone surrogates) and some prose, interleaved deterministically.
 */
import { buildCorpus } from "./corpus.js";

export function megabyteText(): string {
  const prose =
    "The history of computing is a story of abstraction: each layer hides the one below it. " +
    "机器学习是人工智能的一个分支。 Привет, мир! 12345 67.89 — code: for (let i = 0; i < n; i++) { s += a[i]; }\n";
  const parts = [...buildCorpus(600, 7).filter((s) => !/\p{Cs}/u.test(s)), prose.repeat(4)];
  const out: string[] = [];
  for (let i = 0, bytes = 0; bytes < 1 << 20; i++) {
    const p = parts[(i * 7919) % parts.length] + "\n";
    out.push(p);
    bytes += Buffer.byteLength(p);
  }
  return out.join("");
}
