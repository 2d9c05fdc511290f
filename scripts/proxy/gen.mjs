// Format study for the default model (PyTorch proxy, not part of the product): an add/sub corpus
// in one of several <think> formats -> our BPE -> token ids + loss masks + held-out eval prompts.
// v0 = the shipped format (operands zero-padded to equal width); v1 = place-named lines, operands
// unpadded; v2 = place names + padding; v3 = "peeled" operands per line; v4 = v0 without "write d".
import { writeFileSync, mkdirSync } from "node:fs";
// usage: node scripts/proxy/gen.mjs v0|v1|v2|v3|v4 [distDir=dist] -> build/proxy/<fmt>/ (ids, masks, eval prompts)
const D = new URL(`../../${process.argv[3] ?? "dist"}/src/train`, import.meta.url).href;
const { addColumns, subColumns } = await import(`${D}/data/columns.js`);
const { trainBpe } = await import(`${D}/bpe/trainer.js`);
const { buildVocab, SPECIAL_TEXTS } = await import(`${D}/bpe/vocab.js`);
const { tokenizeExamples } = await import(`${D}/batches.js`);
const { renderChat } = await import(`${D}/data/format.js`);
const { Rng, hash32 } = await import(`${D}/rng.js`);
const FMT = process.argv[2], OUT = new URL(`../../build/proxy/${FMT}`, import.meta.url).pathname;
mkdirSync(OUT, { recursive: true });
const PLACE = { en: ["ones", "tens", "hundreds", "thousands", "ten-thousands"], zh: ["个位", "十位", "百位", "千位", "万位"] };
const W = { en: { carry: "carry", borrow: "borrow", soFar: "so far", so: "so", c: ", " }, zh: { carry: "进", borrow: "借", soFar: "目前", so: "所以", c: "，" } };
function dig(x, w) { const s = String(x).padStart(w, "0"); return [...s].reverse().map(Number); }
function addV1(a, b, L) {
  const w = W[L], width = Math.max(String(a).length, String(b).length);
  const da = dig(a, width), db = dig(b, width);
  const lines = [(FMT === "v2" || FMT === "v4") ? `${String(a).padStart(width, "0")} + ${String(b).padStart(width, "0")}` : `${a} + ${b}`];
  let c = 0, sf = "";
  for (let i = 0; i < width; i++) {
    const s = da[i] + db[i] + c, nc = Math.floor(s / 10); sf = `${s % 10}${sf}`;
    lines.push(`${FMT === "v4" ? "" : PLACE[L][i] + ": "}${da[i]} + ${db[i]} + ${c} = ${s}${w.c}${w.carry} ${nc}${w.c}${w.soFar} ${sf}`); c = nc;
  }
  if (c) { sf = `${c}${sf}`; lines.push(`${FMT === "v4" ? "" : PLACE[L][width] + ": "}${w.carry} ${c}${w.c}${w.soFar} ${sf}`); }
  lines.push(`${w.so} ${a} + ${b} = ${a + b}`); return lines;
}
function subV1(a, b, L) {
  const w = W[L];
  if (a < b) { const inner = subV1(b, a, L); inner.pop();
    return [L === "en" ? `${a} < ${b}, so ${a} - ${b} = -(${b} - ${a})` : `${a} < ${b}，所以 ${a} - ${b} = -(${b} - ${a})`, ...inner, `${w.so} ${a} - ${b} = ${a - b}`]; }
  const width = String(a).length, da = dig(a, width), db = dig(b, width);
  const lines = [(FMT === "v2" || FMT === "v4") ? `${a} - ${String(b).padStart(width, "0")}` : `${a} - ${b}`];
  let br = 0, sf = "";
  for (let i = 0; i < width; i++) {
    let s = da[i] - db[i] - br, nb = 0, line = `${FMT === "v4" ? "" : PLACE[L][i] + ": "}${da[i]} - ${db[i]} - ${br} = ${s}`;
    if (s < 0) { s += 10; nb = 1; line += `${w.c}+10 = ${s}`; }
    sf = `${s}${sf}`; line += `${w.c}${w.borrow} ${nb}${w.c}${w.soFar} ${sf}`; lines.push(line); br = nb;
  }
  lines.push(`${w.so} ${a} - ${b} = ${a - b}`); return lines;
}
const Q = { "+": { en: ["What is {a} + {b}?", "Calculate {a} + {b}.", "{a} + {b} = ?", "What is {a} plus {b}?", "Add {a} and {b}."], zh: ["{a} + {b} 等于多少？", "计算 {a} + {b}。", "{a} 加 {b} 是多少？"] },
  "-": { en: ["What is {a} - {b}?", "Calculate {a} - {b}.", "{a} - {b} = ?", "What is {a} minus {b}?", "Subtract {b} from {a}."], zh: ["{a} - {b} 等于多少？", "计算 {a} - {b}。", "{a} 减 {b} 是多少？"] } };
const rng = new Rng(7);
const opnd = () => { const nd = rng.int(1, 4); return nd === 1 ? rng.int(0, 9) : rng.int(10 ** (nd - 1), 10 ** nd - 1); };
function peel(x, i) { const s = String(x); const n = s.length; if (i >= n) return "|0"; return s.slice(0, n - 1 - i) + "|" + s[n - 1 - i]; }
function addV3(a, b, L) {
  const w = W[L], width = Math.max(String(a).length, String(b).length);
  const da = dig(a, width), db = dig(b, width);
  const lines = [`${a} + ${b}`]; let c = 0, sf = "";
  for (let i = 0; i < width; i++) {
    const s = da[i] + db[i] + c, nc = Math.floor(s / 10); sf = `${s % 10}${sf}`;
    lines.push(`${peel(a, i)} + ${peel(b, i)}: ${da[i]} + ${db[i]} + ${c} = ${s}${w.c}${w.carry} ${nc}${w.c}${w.soFar} ${sf}`); c = nc;
  }
  if (c) { sf = `${c}${sf}`; lines.push(`${w.carry} ${c}${w.c}${w.soFar} ${sf}`); }
  lines.push(`${w.so} ${a} + ${b} = ${a + b}`); return lines;
}
function subV3(a, b, L) {
  const w = W[L];
  if (a < b) { const inner = subV3(b, a, L); inner.pop();
    return [L === "en" ? `${a} < ${b}, so ${a} - ${b} = -(${b} - ${a})` : `${a} < ${b}，所以 ${a} - ${b} = -(${b} - ${a})`, ...inner, `${w.so} ${a} - ${b} = ${a - b}`]; }
  const width = String(a).length, da = dig(a, width), db = dig(b, width);
  const lines = [`${a} - ${b}`]; let br = 0, sf = "";
  for (let i = 0; i < width; i++) {
    let s = da[i] - db[i] - br, nb = 0, line = `${peel(a, i)} - ${peel(b, i)}: ${da[i]} - ${db[i]} - ${br} = ${s}`;
    if (s < 0) { s += 10; nb = 1; line += `${w.c}+10 = ${s}`; }
    sf = `${s}${sf}`; line += `${w.c}${w.borrow} ${nb}${w.c}${w.soFar} ${sf}`; lines.push(line); br = nb;
  }
  lines.push(`${w.so} ${a} - ${b} = ${a - b}`); return lines;
}
function make(op, a, b, L) {
  const user = rng.pick(Q[op][L]).replace("{a}", a).replace("{b}", b);
  let lines;
  if (FMT === "v0") lines = (op === "+" ? addColumns : subColumns)(a, b, L).lines;
  else if (FMT === "v3") lines = op === "+" ? addV3(a, b, L) : subV3(a, b, L);
  else lines = op === "+" ? addV1(a, b, L) : subV1(a, b, L);
  const ans = op === "+" ? a + b : a - b;
  const fin = L === "en" ? `The answer is ${ans}.` : `答案是 ${ans}。`;
  return { messages: [{ role: "user", content: user }, { role: "assistant", content: `<think>\n${lines.join("\n")}\n</think>\n${fin}` }], ans, user };
}
const train = [], test = [];
const isTest = (op, a, b) => hash32(`x${op}${a}:${b}`) % 1000 < 50;
while (train.length < 150000) {
  const op = rng.next() < 0.5 ? "+" : "-", a = opnd(), b = opnd(), L = rng.next() < 0.6 ? "en" : "zh";
  const ex = make(op, a, b, L);
  if (isTest(op, a, b)) { if (test.length < 400) test.push({ ...ex, op, a, b, L }); } else train.push(ex);
}
// test: 4-digit-heavy held-out items (both operands drawn as usual, keep 400)
const docs = train.slice(0, 20000).map((e) => renderChat(e.messages));
const model = trainBpe(docs, { vocabSize: 768, specials: SPECIAL_TEXTS, minCount: 2 });
const vocab = buildVocab(model);
const set = tokenizeExamples(train, vocab.encoder, vocab.pad);
console.log(FMT, "tokens", set.ids.length, "per example", (set.ids.length / train.length).toFixed(1), "vocab", vocab.tokens.length);
writeFileSync(`${OUT}/ids.u16`, Buffer.from(Uint16Array.from(set.ids).buffer));
writeFileSync(`${OUT}/mask.u8`, Buffer.from(set.train.buffer));
writeFileSync(`${OUT}/starts.i32`, Buffer.from(set.starts.buffer));
const prompts = test.map((t) => vocab.encoder.encode(`<|im_start|>user\n${t.user}<|im_end|>\n<|im_start|>assistant\n`, []));
const tokenStrs = vocab.tokens.map((t) => t);
writeFileSync(`${OUT}/eval.json`, JSON.stringify({ items: test.map((t) => ({ ans: String(t.ans), op: t.op, a: t.a, b: t.b, L: t.L })), prompts, eos: vocab.eos, vocab: vocab.tokens.length, pad: vocab.pad, tokens: tokenStrs }));
console.log(train[3].messages[1].content);
