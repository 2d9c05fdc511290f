/**
 * A learned process reward model (PRM) for the column working format: a logistic head over what
 * a scoring language model (the default model, teacher-forced) thinks of each line of a working.
 * Labels are free: the working lines of the synthetic corpus are right by construction, and a
 * corrupted copy (one digit changed) is labelled by the rule-based step checker
 * (rl/process-verifier.ts), so the PRM learns what the checker knows without its regexes.
 *
 *   prmExamples   labelled lines {question, lines (the working up to the judged line), ok}, about
 *                 half corrupted
 *   PrmScorer     one forward pass of the scoring model over question + working gives every token's
 *                 log-probability; a judged line's features are statistics of its tokens' values
 *                 (lowest, second lowest, mean, how many are unlikely)
 *   fitPrmHead    logistic regression on standardised features, classes weighted to balance
 *   PrmVerifier   the Verifier: every judged line of a candidate's thinking gets
 *                 P(right) = sigmoid(w . z + b); the score is the lowest line's (0.5 when no line was
 *                 judged), for partial and finished candidates alike (cached by text)
 * An earlier version trained a LoRA adapter to answer yes/no and stayed at chance (54%): the verdict
 * token carried one bit per 128-token example and the small model did not learn to read it off.
 * The head needs one forward pass per example and trains in seconds. Its limit: the scoring model
 * is the policy, so a line the policy writes confidently wrong looks right to it (its systematic
 * errors are invisible to this PRM; digit slips and unlikely samples are not).
 * Training: scripts/train-prm.mjs (features cached, resumable).
 */
import { InputError } from "../errors.js";
import { openGGUF } from "../gguf/reader.js";
import { Tokenizer } from "../tokenizer/tokenizer.js";
import { Rng } from "../sampling/rng.js";
import type { Verdict, Verifier, VerifyInput } from "../verify/verifier.js";
import { generateDataset, type DataConfig } from "./data/generate.js";
import { IM_END, IM_START, THINK_OPEN } from "./data/format.js";
import { loadTrainBase } from "./lora.js";
import type { TrainModelConfig } from "./model/config.js";
import { ShardedModel } from "./parallel/sharded.js";
import { checkSteps } from "./rl/process-verifier.js";

/** Lines the PRM judges: computations (digit, carry, result, strip and shift lines), not plans or headers. */
const JUDGED = /=|so far|目前|→|^(?:shift|左移) \d+:/;

export function isJudgedLine(line: string): boolean {
  return /\d/.test(line) && JUDGED.test(line);
}

/** The thinking lines of a completion (the whole text when it has no <think>). */
export function thinkingLines(text: string): string[] {
  const open = text.indexOf("<think>");
  const close = text.indexOf("</think>");
  const body = open >= 0 ? text.slice(open + 7, close > open ? close : undefined) : text;
  return body
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
}

/** Change one digit of `line` to another digit (the line must hold a digit). */
function corrupt(line: string, rng: Rng): string {
  const at: number[] = [];
  for (let i = 0; i < line.length; i++) if (line[i] >= "0" && line[i] <= "9") at.push(i);
  const i = at[rng.int(0, at.length - 1)];
  const d = (line.charCodeAt(i) - 48 + rng.int(1, 9)) % 10;
  return line.slice(0, i) + String(d) + line.slice(i + 1);
}

export interface PrmExample {
  question: string;
  /** the working up to and including the judged (last) line */
  lines: string[];
  /** The rule checker's label of the judged line. */
  ok: boolean;
}

/**
 * n labelled examples from the training split of `data` (+, −, × and word problems), one judged
 * line each, about half corrupted; a corrupted line the checker still accepts keeps label yes.
 */
export function prmExamples(n: number, data: DataConfig, seed: number): PrmExample[] {
  const rng = new Rng(seed);
  const cfg: DataConfig = {
    ...data,
    seed,
    counts: { train: n, val: 0, test: 0 },
    mix: { add: 0.2, sub: 0.2, mul: 0.35, word: 0.25 },
  };
  const out: PrmExample[] = [];
  for (const e of generateDataset(cfg).train) {
    const u = e.messages.find((m) => m.role === "user");
    const a = e.messages.find((m) => m.role === "assistant");
    if (!a || !u) continue;
    const lines = thinkingLines(a.content);
    const checks = checkSteps(lines.join("\n"));
    const idx = checks.flatMap((c, i) => (c.ok !== null && isJudgedLine(lines[i]) ? [i] : []));
    if (idx.length === 0) continue;
    const i = idx[rng.int(0, idx.length - 1)];
    const shown = lines.slice(0, i + 1);
    if (rng.uniform() < 0.5) shown[i] = corrupt(shown[i], rng);
    const ok = checkSteps(shown.join("\n"))[i].ok;
    if (ok === null) continue;
    out.push({ question: u.content, lines: shown, ok });
  }
  return out;
}

/** Feature names, in the order of lineFeatures' output. */
export const PRM_FEATURES = ["min", "min2", "mean", "below_half", "below_tenth", "tokens"] as const;

/** Features of one line from its tokens' log-probabilities under the scoring model. */
export function lineFeatures(lp: readonly number[]): number[] {
  if (lp.length === 0) return [0, 0, 0, 0, 0, 0];
  const s = [...lp].sort((a, b) => a - b);
  const mean = lp.reduce((a, b) => a + b, 0) / lp.length;
  const below = (t: number) => lp.filter((x) => x < Math.log(t)).length;
  return [s[0], s[1] ?? s[0], mean, below(0.5), below(0.1), lp.length];
}

/** The sequence the scoring model reads: the question as a chat turn, then the working lines. */
export interface ScoreSequence {
  ids: number[];
  /** token ranges [start, end) of each line (its newline included), null when cut off */
  spans: ([number, number] | null)[];
}

/** Buckets of sequence length; a longer sequence keeps its last tokens. */
const BUCKETS = [128, 256, 512];

/** The scoring model: teacher-forced token log-probabilities of workings, batched. */
export class PrmScorer {
  private readonly nets = new Map<string, ShardedModel>();

  private constructor(
    readonly path: string,
    private readonly config: TrainModelConfig,
    private readonly params: Float32Array,
    private readonly tok: Tokenizer,
    private readonly threads: 1 | 2,
  ) {}

  static async load(path: string, o: { threads?: 1 | 2 } = {}): Promise<PrmScorer> {
    const { config, params } = await loadTrainBase(path);
    const f = await openGGUF(path);
    try {
      return new PrmScorer(path, config, params, Tokenizer.fromMetadata(f.metadata), o.threads ?? 1);
    } finally {
      await f.close();
    }
  }

  private encode(text: string): number[] {
    return [...this.tok.encode(text, { addSpecial: false, parseSpecial: true })];
  }

  sequence(question: string, lines: readonly string[]): ScoreSequence {
    const ids = this.encode(`${IM_START}user\n${question}${IM_END}\n${IM_START}assistant\n${THINK_OPEN}\n`);
    const spans: ([number, number] | null)[] = [];
    for (const l of lines) {
      const start = ids.length;
      ids.push(...this.encode(l), ...this.encode("\n"));
      spans.push([start, ids.length]);
    }
    return { ids, spans };
  }

  /** Per line of each sequence: the log-probabilities of its tokens (empty when cut off). */
  async lineLogprobs(seqs: readonly ScoreSequence[], batch = 1): Promise<number[][][]> {
    const out: number[][][] = new Array(seqs.length);
    // group by bucket so each forward pass is as short as its longest sequence allows
    const byT = new Map<number, number[]>();
    seqs.forEach((s, i) => {
      const T = BUCKETS.find((b) => s.ids.length <= b + 1) ?? BUCKETS[BUCKETS.length - 1];
      byT.set(T, [...(byT.get(T) ?? []), i]);
    });
    for (const [T, idx] of byT) {
      const net = await this.net(batch, T);
      for (let k = 0; k < idx.length; k += batch) {
        const part = idx.slice(k, k + batch);
        const tokens = new Int32Array(batch * T);
        const targets = new Int32Array(batch * T);
        const cut: number[] = [];
        part.forEach((si, r) => {
          const ids = seqs[si].ids;
          const from = Math.max(0, ids.length - (T + 1));
          cut.push(from);
          for (let t = from; t < ids.length - 1; t++) {
            tokens[r * T + t - from] = ids[t];
            targets[r * T + t - from] = ids[t + 1];
          }
        });
        const lp = await net.logprobs({ tokens, targets });
        part.forEach((si, r) => {
          const from = cut[r];
          out[si] = seqs[si].spans.map((sp) => {
            // token j is predicted at position j - 1; a line whose first token is not predicted is cut off
            if (!sp || sp[0] - 1 < from) return [];
            const v: number[] = [];
            for (let j = sp[0]; j < sp[1]; j++) v.push(lp[r * T + j - 1 - from]);
            return v;
          });
        });
      }
    }
    return out;
  }

  private async net(B: number, T: number): Promise<ShardedModel> {
    const key = `${B}x${T}`;
    let n = this.nets.get(key);
    if (!n) {
      n = await ShardedModel.create(this.config, B, T, { threads: B % 2 === 0 ? this.threads : 1 });
      n.params.set(this.params);
      this.nets.set(key, n);
    }
    return n;
  }

  async close(): Promise<void> {
    for (const n of this.nets.values()) await n.close();
    this.nets.clear();
  }
}

/** A fitted logistic head over standardised line features. */
export interface PrmHead {
  features: readonly string[];
  mean: number[];
  std: number[];
  w: number[];
  b: number;
  /** the scoring model the features were computed with */
  model: string;
}

export function headProbability(h: PrmHead, x: readonly number[]): number {
  let z = h.b;
  for (let i = 0; i < h.w.length; i++) z += (h.w[i] * (x[i] - h.mean[i])) / h.std[i];
  return 1 / (1 + Math.exp(-z));
}

/**
 * Logistic regression by full-batch gradient descent on the mean class-weighted log loss (each
 * class weighs half), with a small L2 penalty; deterministic.
 */
export function fitPrmHead(
  xs: readonly number[][],
  ys: readonly boolean[],
  model: string,
  o: { iters?: number; lr?: number; l2?: number } = {},
): PrmHead {
  if (xs.length === 0) throw new InputError("no PRM training examples", { field: "examples" });
  const d = xs[0].length;
  const pos = ys.filter(Boolean).length;
  const neg = ys.length - pos;
  if (pos === 0 || neg === 0)
    throw new InputError("PRM training examples need both labels", { field: "examples" });
  const mean = Array.from({ length: d }, (_, j) => xs.reduce((a, x) => a + x[j], 0) / xs.length);
  const std = Array.from(
    { length: d },
    (_, j) => Math.sqrt(xs.reduce((a, x) => a + (x[j] - mean[j]) ** 2, 0) / xs.length) || 1,
  );
  const z = xs.map((x) => x.map((v, j) => (v - mean[j]) / std[j]));
  const cw = ys.map((y) => (y ? 0.5 / pos : 0.5 / neg));
  const w = new Array<number>(d).fill(0);
  let b = 0;
  const iters = o.iters ?? 3000;
  const lr = o.lr ?? 0.5;
  const l2 = o.l2 ?? 1e-4;
  for (let it = 0; it < iters; it++) {
    const gw = w.map((v) => l2 * v);
    let gb = 0;
    for (let i = 0; i < z.length; i++) {
      let s = b;
      for (let j = 0; j < d; j++) s += w[j] * z[i][j];
      const g = cw[i] * (1 / (1 + Math.exp(-s)) - (ys[i] ? 1 : 0));
      for (let j = 0; j < d; j++) gw[j] += g * z[i][j];
      gb += g;
    }
    for (let j = 0; j < d; j++) w[j] -= lr * gw[j];
    b -= lr * gb;
  }
  return { features: [...PRM_FEATURES], mean, std, w, b, model };
}

/** The PRM as a Verifier: the scoring model plus its head. */
export class PrmVerifier implements Verifier {
  readonly name = "prm";
  /** every judged line more likely right than wrong: what the rule checker's score 1 means */
  readonly accept = 0.5;
  private readonly cache = new Map<string, Verdict>();
  /** Candidates scored by the model (cache misses). */
  scored = 0;

  constructor(
    private readonly scorer: PrmScorer,
    private readonly head: PrmHead,
  ) {
    if (head.features.join() !== PRM_FEATURES.join())
      throw new InputError(
        `PRM head has features ${head.features.join(",")}, expected ${PRM_FEATURES.join(",")}`,
        {
          field: "prm",
        },
      );
  }

  /** P(right) of every judged line of the working (null for lines not judged). */
  async lineScores(question: string, lines: readonly string[]): Promise<(number | null)[]> {
    const [lps] = await this.scorer.lineLogprobs([this.scorer.sequence(question, lines)]);
    return lines.map((l, i) =>
      isJudgedLine(l) && lps[i].length > 0 ? headProbability(this.head, lineFeatures(lps[i])) : null,
    );
  }

  async verify(input: VerifyInput): Promise<Verdict> {
    const key = `${input.question}\u0000${input.text}`;
    const hit = this.cache.get(key);
    if (hit) return hit;
    this.scored++;
    const lines = thinkingLines(input.text);
    const ps = await this.lineScores(input.question, lines);
    let min = 1;
    let n = 0;
    let worst = "";
    ps.forEach((p, i) => {
      if (p === null) return;
      n++;
      if (p < min) [min, worst] = [p, lines[i]];
    });
    const v: Verdict =
      n === 0
        ? { score: 0.5, detail: "no lines to judge" }
        : { score: min, detail: `${n} lines judged; lowest ${min.toFixed(3)}${worst ? `: ${worst}` : ""}` };
    this.cache.set(key, v);
    return v;
  }
}

/** Read a head written by scripts/train-prm.mjs. */
export function parsePrmHead(text: string, file: string): PrmHead {
  let h: PrmHead;
  try {
    h = JSON.parse(text) as PrmHead;
  } catch {
    throw new InputError("the PRM head is not JSON", { file });
  }
  const ok =
    Array.isArray(h.features) &&
    Array.isArray(h.w) &&
    Array.isArray(h.mean) &&
    Array.isArray(h.std) &&
    typeof h.b === "number" &&
    typeof h.model === "string" &&
    h.w.length === h.features.length;
  if (!ok) throw new InputError("the PRM head needs features, mean, std, w, b and model", { file });
  return h;
}
