import { test } from "node:test";
import assert from "node:assert/strict";
import { InputError } from "../../src/errors.js";
import { Automaton, parseGBNF } from "../../src/sampling/grammar/index.js";
import { utf8Sequences } from "../../src/sampling/grammar/utf8-ranges.js";

const enc = (s: string) => new Uint8Array(Buffer.from(s, "utf8"));
function matcher(src: string) {
  const a = new Automaton(parseGBNF(src));
  return {
    full: (s: string) => a.matches(enc(s)),
    prefix: (s: string) => a.advanceBytes(a.initial, enc(s)) !== null,
  };
}

test("literals, alternatives, groups, repetition", () => {
  const m = matcher(`root ::= "a" ( "b" | "cd" )* "e"{2,3} x?\nx ::= [0-9]+`);
  for (const s of ["aee", "abcdbee", "aeee", "aee12", "abeee9"]) assert.ok(m.full(s), s);
  for (const s of ["ae", "aeeee", "acee", "bee", "aee1x"]) assert.ok(!m.full(s), s);
  assert.ok(m.prefix("abcd") && !m.prefix("abx"));
});

test("bounded repetition counts exactly", () => {
  const m = matcher(`root ::= "x"{0,4} "." [a-c]{2} "y"{3,}`);
  assert.ok(m.full(".abyyy") && m.full("xxxx.ccyyyyyy"));
  assert.ok(!m.full("xxxxx.abyyy") && !m.full(".abyy") && !m.full(".adyyy"));
});

test("character classes over code points match whole UTF-8 sequences", () => {
  const m = matcher(`root ::= [^a"] [α-ω] .`);
  assert.ok(m.full("bβ😀") && m.full("é\u03c9\u0000"));
  assert.ok(!m.full("aβx") && !m.full('"βx') && !m.full("bbx"));
  // A partial multi-byte character is a live prefix, a stray continuation byte is not.
  const a = new Automaton(parseGBNF(`root ::= [^x]`));
  assert.notEqual(a.advanceBytes(a.initial, Uint8Array.of(0xf0, 0x9f)), null);
  assert.equal(a.advance(a.initial, 0x80), null);
  assert.equal(a.advance(a.initial, 0xc0), null); // overlong lead byte
  assert.equal(a.advanceBytes(a.initial, Uint8Array.of(0xed, 0xa0)), null); // surrogate range
});

test("utf8Sequences covers exactly the code points (exhaustive over the BMP edges)", () => {
  const seqs = utf8Sequences([[0x7f, 0x10ffff]]);
  const inSeq = (b: Uint8Array) =>
    seqs.some((s) => s.length === b.length && s.every(([lo, hi], i) => b[i] >= lo && b[i] <= hi));
  for (let cp = 0x70; cp < 0x11000; cp++) {
    if (cp >= 0xd800 && cp <= 0xdfff) continue;
    assert.equal(inSeq(enc(String.fromCodePoint(cp))), cp >= 0x7f, `U+${cp.toString(16)}`);
  }
  for (const cp of [0x10000, 0x10ffff, 0x1f600]) assert.ok(inSeq(enc(String.fromCodePoint(cp))));
});

test("escapes in strings and classes", () => {
  const m = matcher(`root ::= "\\"\\n\\t\\\\" [\\x41-\\x43\\]] "\\u00e9"`);
  assert.ok(m.full('"\n\t\\Bé') && m.full('"\n\t\\]é'));
  assert.ok(!m.full('"\n\t\\Dé'));
});

test("right recursion runs in constant stack depth", () => {
  const m = matcher(`root ::= item\nitem ::= "a" item | "."`);
  assert.ok(m.full("a".repeat(50000) + "."));
});

test("nesting beyond the depth limit is an InputError, not a crash", () => {
  const a = new Automaton(parseGBNF(`root ::= "(" root ")" | "x"`));
  assert.throws(() => a.advanceBytes(a.initial, enc("(".repeat(5000))), InputError);
});

test("bad grammars are InputErrors with context", () => {
  const bad: [string, RegExp][] = [
    [`root ::= foo`, /undefined rule.*foo/],
    [`root ::= root "a" | "b"`, /left-recursive: root -> root/],
    [`root ::= x\nx ::= "a"? root`, /left-recursive: (root -> x -> root|x -> root -> x)/],
    [`root ::= "abc`, /unterminated string/],
    [`root ::= [a-`, /unterminated character class|unexpected end/],
    [`root ::= ( "a"`, /expected '\)'/],
    [`root ::= "a"{3,1}`, /max < min/],
    [`root ::= "\\q"`, /unknown escape/],
    [`start ::= "a"`, /no 'root' rule/],
    [`root ::= "a"\nroot ::= "b"`, /defined twice/],
    [``, /empty grammar/],
    [`root ::= [z-a]`, /reversed/],
  ];
  for (const [src, re] of bad)
    assert.throws(
      () => parseGBNF(src),
      (e: unknown) => e instanceof InputError && re.test(e.message),
      src,
    );
});

test("comments and multi-line rules", () => {
  const m = matcher(`# a comment\nroot ::= "a" # trailing\n  | "b"\n  other\nother ::= "c"`);
  assert.ok(m.full("a") && m.full("bc") && !m.full("b"));
});
