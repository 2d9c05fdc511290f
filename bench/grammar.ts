/**
 * Grammar overhead per decoded token on real 128k/151k vocabularies (llama3, qwen3).
 *
 * For a JSON document under its schema's grammar, each step computes the token mask (trie walk,
 * or the state's cached mask) and accepts the document's next token, as a decode loop would.
 * "cold" = fresh grammar (every state walked for the first time), "warm" = the same grammar on a
 * second document (states and masks cached). Also the check-only path (is the sampled token
 * allowed?) that a decoder can try before computing a full mask.
 *
 * Run: npx tsc -p tsconfig.json --outDir .dist-tools; node .dist-tools/bench/grammar.js
 */
import {
  compileGrammar,
  GrammarMatcher,
  jsonSchemaToGBNF,
  VocabIndex,
  jsonObjectGBNF,
} from "../src/sampling/grammar/index.js";
import { realTokenizer, type RealVocab } from "../test/grammar/vocab.js";

const SCHEMA = {
  type: "object",
  properties: {
    location: { type: "string" },
    unit: { enum: ["celsius", "fahrenheit"] },
    days: { type: "integer", minimum: 1, maximum: 14 },
    tags: { type: "array", items: { type: "string" }, maxItems: 8 },
    when: { type: "string", format: "date-time" },
  },
  required: ["location", "unit"],
};
const DOCS = [
  '{"location": "San Francisco, CA — near the Golden Gate", "unit": "celsius", "days": 7, "tags": ["fog", "wind", "コーヒー"], "when": "2025-03-04T05:06:07Z"}',
  '{"location": "Zürich", "unit": "fahrenheit", "days": 14, "tags": ["snow \\"heavy\\"", "alps"], "when": "2024-12-31T23:59:59.5+01:00"}',
];

function runDoc(
  tok: ReturnType<typeof realTokenizer>,
  m: GrammarMatcher,
  doc: string,
): { ms: number; n: number; checkMs: number } {
  const ids = tok.encode(doc);
  let ms = 0;
  let checkMs = 0;
  for (const id of ids) {
    const t0 = performance.now();
    const ok = m.isAllowed(id);
    const t1 = performance.now();
    m.allowedTokens();
    m.accept(id);
    const t2 = performance.now();
    if (!ok) throw new Error(`document token ${id} rejected`);
    checkMs += t1 - t0;
    ms += t2 - t1;
  }
  return { ms, n: ids.length, checkMs };
}

function bench(name: RealVocab): void {
  let t0 = performance.now();
  const tok = realTokenizer(name);
  const tLoad = performance.now() - t0;
  t0 = performance.now();
  const vi = VocabIndex.of(tok);
  const tIndex = performance.now() - t0;
  const gbnf = jsonSchemaToGBNF(SCHEMA);
  const rows: string[] = [];
  for (const [label, g] of [
    ["schema", gbnf],
    ["json_object", jsonObjectGBNF()],
  ] as const) {
    const tg = compileGrammar(g, vi);
    const cold = runDoc(tok, new GrammarMatcher(tg), DOCS[0]);
    const warm1 = runDoc(tok, new GrammarMatcher(tg), DOCS[1]);
    const warm2 = runDoc(tok, new GrammarMatcher(tg), DOCS[0]);
    rows.push(
      `  ${label.padEnd(11)} cold ${(cold.ms / cold.n).toFixed(2)} ms/token (${cold.n} tokens)` +
        ` | new doc ${(warm1.ms / warm1.n).toFixed(2)} | repeat doc ${(warm2.ms / warm2.n).toFixed(3)}` +
        ` | check-only ${(((cold.checkMs + warm1.checkMs) / (cold.n + warm1.n)) * 1000).toFixed(1)} us/token` +
        ` | walks ${tg.stats.walks}, cache hits ${tg.stats.hits}, states ${tg.automaton.stateCount}`,
    );
  }
  // One full trie walk on a string-content state with warm transitions: the worst per-step cost.
  const tg = compileGrammar(gbnf, vi);
  const m = new GrammarMatcher(tg);
  m.acceptBytes(new Uint8Array(Buffer.from('{"location": "ab')));
  m.allowedTokens();
  const st = (m as unknown as { state: { mask?: Uint32Array } }).state;
  const times: number[] = [];
  for (let i = 0; i < 15; i++) {
    delete st.mask;
    const t = performance.now();
    m.allowedTokens();
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  console.log(
    `${name}: vocab ${tok.nVocab} tokens, trie ${vi.trie.nodeCount} nodes; tokenizer load ${tLoad.toFixed(0)} ms, index build ${tIndex.toFixed(0)} ms`,
  );
  for (const r of rows) console.log(r);
  console.log(
    `  full walk inside a string (warm transitions): median ${times[7].toFixed(2)} ms, min ${times[0].toFixed(2)} ms`,
  );
}

bench("llama3");
bench("qwen3");
