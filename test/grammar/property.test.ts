/**
 * Property test: for random schemas, decoding with random logits under the grammar over a real
 * 151k-token vocabulary (Qwen3) always yields text that parses as JSON and validates against the
 * schema (checked by ajv, a validator we did not write). Also: the cached trie-walk mask equals
 * a token-by-token check over the whole vocabulary.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Candidates } from "../../src/sampling/candidates.js";
import { TopK } from "../../src/sampling/processors.js";
import { compileGrammar, GrammarMatcher, jsonSchemaToGBNF } from "../../src/sampling/grammar/index.js";
import { validator } from "./ajv.js";
import { mulberry32, randomSchema } from "./random-schema.js";
import { realTokenizer } from "./vocab.js";

const tok = realTokenizer("qwen3");

/** Gaussian random logits (a stand-in for a random-weight model's output). */
function randomLogits(rnd: () => number, n: number): Float32Array {
  const l = new Float32Array(n);
  for (let i = 0; i < n; i++) l[i] = 3 * (rnd() + rnd() + rnd() - 1.5);
  return l;
}

function decode(m: GrammarMatcher, rnd: () => number, maxTokens: number): { ids: number[]; done: boolean } {
  const ids: number[] = [];
  for (let step = 0; step < maxTokens; step++) {
    const logits = randomLogits(rnd, tok.nVocab);
    m.maskLogits(logits);
    let best = 0;
    for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
    assert.ok(logits[best] > -Infinity, "grammar left no token");
    m.accept(best);
    if (tok.isEog(best)) return { ids, done: true };
    ids.push(best);
  }
  return { ids, done: false };
}

test("schema-constrained random decoding always parses and validates (30 random schemas)", () => {
  const rnd = mulberry32(1234);
  let tokens = 0;
  for (let k = 0; k < 30; k++) {
    const schema = randomSchema(rnd);
    const tg = compileGrammar(jsonSchemaToGBNF(schema), tok);
    const { ids, done } = decode(new GrammarMatcher(tg), rnd, 300);
    tokens += ids.length;
    const text = tok.decode(ids);
    assert.ok(done, `no end after 300 tokens for ${JSON.stringify(schema)}: ${text}`);
    let value: unknown;
    assert.doesNotThrow(() => (value = JSON.parse(text)), `not JSON: ${text}`);
    const v = validator(schema);
    assert.ok(v(value), `invalid for ${JSON.stringify(schema)}: ${text}\n${JSON.stringify(v.errors)}`);
  }
  assert.ok(tokens > 100);
});

test("as a sampler-chain processor: masked candidates, top-k, sampled token accepted", () => {
  const rnd = mulberry32(7);
  const schema = {
    type: "object",
    properties: { ok: { type: "boolean" }, n: { type: "integer", minimum: 1, maximum: 3 } },
    required: ["ok", "n"],
  };
  const m = new GrammarMatcher(compileGrammar(jsonSchemaToGBNF(schema), tok));
  const ids: number[] = [];
  for (let step = 0; step < 100 && !m.isDone(); step++) {
    const c = Candidates.fromLogits(randomLogits(rnd, tok.nVocab));
    m.apply(c);
    new TopK(5).apply(c);
    const id = c.ids[Math.floor(rnd() * c.size)];
    assert.ok(c.size > 0 && m.isAllowed(id));
    m.accept(id);
    ids.push(id);
  }
  assert.ok(m.isDone());
  const value = JSON.parse(tok.decode(ids));
  assert.ok(validator(schema)(value), tok.decode(ids));
});

test("trie-walk mask equals a per-token check over the whole vocabulary", () => {
  const tg = compileGrammar(
    jsonSchemaToGBNF({
      type: "object",
      properties: { 名前: { type: "string", maxLength: 4 }, n: { type: "number" } },
    }),
    tok,
  );
  const m = new GrammarMatcher(tg);
  // Visit states: start, after '{', inside a key, inside a short string, inside a number.
  const prefixes = ["", "{", '{"', '{"名前": "ab', '{"n": -1.2'];
  for (const p of prefixes) {
    m.reset();
    if (p) m.acceptBytes(new Uint8Array(Buffer.from(p)));
    const st = (m as unknown as { state: Parameters<typeof tg.allows>[0] }).state;
    const mask = m.allowedTokens();
    let diff = 0;
    for (let id = 0; id < tok.nVocab; id++) {
      const inMask = (mask[id >>> 5] & (1 << (id & 31))) !== 0;
      const bytes = tok.tokenBytes(id);
      const direct = tok.isEog(id)
        ? st.accepting
        : bytes.length > 0 && tg.automaton.advanceBytes(st, bytes) !== null;
      if (inMask !== direct) diff++;
    }
    assert.equal(diff, 0, `prefix ${JSON.stringify(p)}`);
  }
});

test("accepting a disallowed token or early end-of-generation is an InputError", () => {
  const m = new GrammarMatcher(compileGrammar(jsonSchemaToGBNF({ type: "boolean" }), tok));
  assert.throws(() => m.accept(tok.encode("{")[0]), /not allowed/);
  assert.throws(() => m.accept(tok.eos >= 0 ? tok.eos : [...tok.eog][0]), /before the output is complete/);
  for (const id of tok.encode("true")) m.accept(id);
  assert.ok(m.isComplete() && m.isDone());
});
