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

/**
 * 1 MB of pseudo-words from random syllables (Latin, Cyrillic, CJK; seeded), mostly distinct, so
 * per-word caches barely help: the merge loops themselves are timed.
 */
export function variedMegabyteText(): string {
  let s = 12345;
  const r = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  const syl = ["ka", "to", "ri", "men", "sa", "lo", "qui", "ber", "an", "dor", "el", "vin", "ta", "shu"];
  syl.push("po", "gra", "ne", "xi", "lu", "ström", "ço", "наш", "ми", "学", "習");
  const out: string[] = [];
  for (let bytes = 0; bytes < 1 << 20;) {
    let w = "";
    for (let k = 1 + Math.floor(r() * 4); k > 0; k--) w += syl[Math.floor(r() * syl.length)];
    if (r() < 0.1) w = w[0].toUpperCase() + w.slice(1);
    w += r() < 0.08 ? ".\n" : " ";
    out.push(w);
    bytes += Buffer.byteLength(w);
  }
  return out.join("");
}
