/**
 * Monte Carlo tree search over reasoning steps (a step is one line), AlphaZero-style PUCT
 * (Silver et al. 2017; applied to LLM reasoning steps as in Zhang et al. 2024 "ReST-MCTS*" and
 * Guan et al. 2025 "rStar-Math"):
 *   select    from the root, the child maximising Q + cPuct * P * sqrt(N_parent) / (1 + N_child),
 *             until a node that was never expanded (or a finished one);
 *   expand    "diverse" (default): the greedy next line first; only where its probability
 *             exp(logprob) is below `branchBelow` are up to `expand - 1` more lines sampled (at
 *             `temperature`, the samples sharing the node's prefix KV), and a sample equal to a
 *             line already there is redrawn at a hotter temperature (x `redrawHeat`, up to
 *             `redraws` rounds of twice the lines still wanted), so the children are distinct lines (duplicates left after the
 *             redraws merge). "sample": `expand` samples in one call, identical lines merge (a
 *             confident model's k samples are mostly one line: the tree does not branch).
 *             Each child's prior P is its sequence probability exp(logprob) renormalised over the
 *             node's distinct children (uniform when the generator gives no logprobs);
 *   evaluate  every new child is scored by the verifier (a process verifier on the unfinished
 *             prefix, the final score once the answer has ended): its value;
 *   backup    each new child's value is added along the selected path (N += 1, W += value).
 * The search stops when the token budget is spent (a hard cap: each expansion's per-line token
 * cap is lowered so the budget is never exceeded; a line cut by its cap is a closed dead end), when a finished candidate scores >= `target`,
 * or when the tree is exhausted. If nothing finished, the most visited path is completed greedily
 * line by line with the budget left. The answer is the finished candidate with the best value
 * (ties: more visits, then earlier). Deterministic given a seed (expansion e uses seed + 1000 e).
 */
import { InputError } from "../errors.js";
import { makeExtractor, type Extractor, type ExtractorName } from "../verify/extract.js";
import { clampScore, type Verifier } from "../verify/verifier.js";
import type { Step, StepGenerator } from "./step-search.js";

export interface MctsOptions {
  question: string;
  /** Scores partial and finished candidates (the value of a node). */
  verifier: Verifier;
  /** Most tokens decoded in all (expansions and the final completion). Default 1024. */
  budget?: number;
  /** Next lines sampled per expansion (k). Default 4. */
  expand?: number;
  /** PUCT exploration constant. Default 1. */
  cPuct?: number;
  /** Most lines in a candidate. Default 64. */
  maxSteps?: number;
  /** Most tokens in one line. Default 48. */
  maxStepTokens?: number;
  /** Stop once a finished candidate scores at least this. Default: the verifier's `accept`, else 1; > 1 = spend the budget. */
  target?: number;
  temperature?: number;
  topP?: number;
  /** "diverse" (default): greedy line first, distinct sampled siblings; "sample": k plain samples. */
  expansion?: "diverse" | "sample";
  /** diverse: branch only where the greedy line's probability is below this. Default 0.9. */
  branchBelow?: number;
  /** diverse: redraw rounds (each draws twice the lines still wanted) for samples that repeat a line. Default 3. */
  redraws?: number;
  /** diverse: temperature factor per redraw round. Default 1.5. */
  redrawHeat?: number;
  seed?: number;
  extractor?: ExtractorName | { regex: string | RegExp } | Extractor;
  signal?: AbortSignal;
}

export interface MctsNode {
  /** The whole candidate text up to and including this step. */
  text: string;
  depth: number;
  prior: number;
  /** The verifier's score of `text`. */
  value: number;
  /** Visits and total backed-up value. */
  n: number;
  w: number;
  done: boolean;
  /** Its line was cut by the token cap (a closed dead end). */
  cut: boolean;
  /** How many of the expansion's samples gave this line. */
  count: number;
  children?: MctsNode[];
  /** No unexpanded node left below (finished, at the step limit, or every child closed). */
  closed: boolean;
}

export interface MctsResult {
  answer: string | undefined;
  text: string;
  /** The chosen finished candidate (undefined when none finished). */
  best: MctsNode | undefined;
  /** Finished candidates, best first. */
  finished: MctsNode[];
  root: MctsNode;
  tokens: number;
  expansions: number;
  /** Verifier calls. */
  scored: number;
  /** Drawn lines merged into an identical sibling; redraw rounds of the diverse expansion. */
  merged: number;
  redrawn: number;
  stopReason: "target" | "budget" | "exhausted" | "abort";
}

function positiveInt(name: string, v: number, hi: number): number {
  if (!Number.isInteger(v) || v < 1 || v > hi)
    throw new InputError(`mcts ${name} must be an integer in 1..${hi}, got ${v}`, { field: name });
  return v;
}

export async function mcts(gen: StepGenerator, o: MctsOptions): Promise<MctsResult> {
  const budget = positiveInt("budget", o.budget ?? 1024, 1e6);
  const k = positiveInt("expand", o.expand ?? 4, 16);
  const maxSteps = positiveInt("maxSteps", o.maxSteps ?? 64, 1024);
  const maxStepTokens = positiveInt("maxStepTokens", o.maxStepTokens ?? 48, 4096);
  const cPuct = o.cPuct ?? 1;
  if (!(cPuct >= 0 && Number.isFinite(cPuct)))
    throw new InputError(`mcts cPuct must be a finite number >= 0, got ${cPuct}`, { field: "cPuct" });
  const target = o.target ?? o.verifier.accept ?? 1;
  const expansion = o.expansion ?? "diverse";
  if (expansion !== "diverse" && expansion !== "sample")
    throw new InputError(`mcts expansion must be diverse or sample, got '${expansion}'`, {
      field: "expansion",
    });
  const branchBelow = o.branchBelow ?? 0.9;
  if (!(branchBelow >= 0 && branchBelow <= 1))
    throw new InputError(`mcts branchBelow must be in 0..1, got ${branchBelow}`, { field: "branchBelow" });
  const redraws = o.redraws ?? 3;
  if (!Number.isInteger(redraws) || redraws < 0 || redraws > 16)
    throw new InputError(`mcts redraws must be an integer in 0..16, got ${redraws}`, { field: "redraws" });
  const heat = o.redrawHeat ?? 1.5;
  if (!(heat >= 1 && Number.isFinite(heat)))
    throw new InputError(`mcts redrawHeat must be a finite number >= 1, got ${heat}`, {
      field: "redrawHeat",
    });
  const extract = makeExtractor(o.extractor);
  const root: MctsNode = {
    text: "",
    depth: 0,
    prior: 1,
    value: 0.5,
    n: 0,
    w: 0,
    done: false,
    cut: false,
    count: 1,
    closed: false,
  };
  const finished: MctsNode[] = [];
  let tokens = 0;
  let expansions = 0;
  let scored = 0;
  let merged = 0;
  let redrawn = 0;
  let stopReason: MctsResult["stopReason"] = "exhausted";

  const score = async (text: string, done: boolean): Promise<number> => {
    scored++;
    const v = await o.verifier.verify({
      question: o.question,
      text,
      answer: done ? extract(text) : undefined,
      partial: !done,
    });
    return clampScore(v.score);
  };
  const q = (c: MctsNode) => (c.n > 0 ? c.w / c.n : c.value);
  const select = (node: MctsNode): MctsNode | undefined => {
    let best: MctsNode | undefined;
    let bestU = -Infinity;
    const sqrtN = Math.sqrt(Math.max(1, node.n));
    for (const c of node.children ?? []) {
      if (c.closed) continue;
      const u = q(c) + (cPuct * c.prior * sqrtN) / (1 + c.n);
      if (u > bestU) [best, bestU] = [c, u];
    }
    return best;
  };
  const close = (path: MctsNode[]) => {
    for (let i = path.length - 1; i >= 0; i--) {
      const nd = path[i];
      if (nd.closed || !nd.children || nd.children.some((c) => !c.closed)) break;
      nd.closed = true;
    }
  };
  /** Children from sampled steps: identical lines merge; priors renormalised over distinct ones. */
  const childrenOf = async (node: MctsNode, steps: Step[]): Promise<MctsNode[]> => {
    const byText = new Map<string, { step: Step; count: number }>();
    for (const s of steps) {
      const e = byText.get(s.text);
      if (e) {
        e.count++;
        merged++;
      } else byText.set(s.text, { step: s, count: 1 });
    }
    const distinct = [...byText.values()];
    const haveLp = distinct.every((d) => d.step.logprob !== undefined && Number.isFinite(d.step.logprob));
    const maxLp = haveLp ? Math.max(...distinct.map((d) => d.step.logprob!)) : 0;
    const raw = distinct.map((d) => (haveLp ? Math.exp(d.step.logprob! - maxLp) : d.count));
    const sum = raw.reduce((a, b) => a + b, 0);
    const out: MctsNode[] = [];
    for (let i = 0; i < distinct.length; i++) {
      const { step, count } = distinct[i];
      const text = node.text + step.text;
      // a line cut by the token cap is neither finished nor expandable: a closed dead end
      const done = !step.cut && (step.done || step.text === "");
      const value = await score(text, done);
      const depth = node.depth + 1;
      const c: MctsNode = {
        text,
        depth,
        prior: raw[i] / sum,
        value,
        n: 0,
        w: 0,
        done,
        cut: !!step.cut,
        count,
        closed: done || !!step.cut || depth >= maxSteps,
      };
      if (done) finished.push(c);
      out.push(c);
    }
    return out;
  };

  /** The next lines after `prefix` (tokens counted here): plain k samples, or the diverse expansion. */
  const expandLines = async (prefix: string, perLine: number, seed: number | undefined): Promise<Step[]> => {
    const call = async (n: number, temperature: number | undefined, s: number | undefined) => {
      const got = await gen(prefix, {
        n,
        seed: s,
        temperature,
        topP: o.topP,
        maxTokens: perLine,
        signal: o.signal,
      });
      for (const x of got) tokens += x.tokens;
      return got;
    };
    if (expansion === "sample" || k === 1) return call(k, o.temperature, seed);
    const [greedy] = await call(1, 0, seed);
    const lines = [greedy];
    const p = greedy.logprob === undefined ? 0 : Math.exp(greedy.logprob);
    if (p >= branchBelow) return lines;
    let temperature = o.temperature ?? 1;
    for (let round = 0; round <= redraws && lines.length < k; round++) {
      const want = k - lines.length;
      // a redraw round draws twice the lines still wanted (a repeat is likely again), in budget
      const draw = Math.min(round === 0 ? want : 2 * want, Math.floor((budget - tokens) / perLine));
      if (draw < 1 || o.signal?.aborted) break;
      if (round > 0) {
        redrawn++;
        temperature *= heat;
      }
      const got = await call(draw, temperature, seed === undefined ? undefined : seed + 1 + 97 * round);
      for (const g of got) {
        if (lines.length === k) break;
        if (!lines.some((l) => l.text === g.text)) lines.push(g);
      }
      // after the last round, repeats fill the places left (they merge into their sibling's count)
      if (round === redraws) for (const g of got) if (lines.length < k && !lines.includes(g)) lines.push(g);
    }
    return lines;
  };

  for (;;) {
    if (o.signal?.aborted) {
      stopReason = "abort";
      break;
    }
    if (root.closed) break;
    const path = [root];
    let node = root;
    while (node.children) {
      const next = select(node);
      if (!next) break;
      path.push(next);
      node = next;
    }
    if (node.children || node.closed) {
      // nothing open below (only reachable through a stale path): close and retry
      node.closed = node.closed || !node.children?.some((c) => !c.closed);
      close(path);
      continue;
    }
    const perLine = Math.min(maxStepTokens, Math.floor((budget - tokens) / k));
    if (perLine < Math.min(maxStepTokens, 8)) {
      stopReason = "budget";
      break;
    }
    const steps = await expandLines(
      node.text,
      perLine,
      o.seed === undefined ? undefined : o.seed + 1000 * expansions,
    );
    expansions++;
    node.children = await childrenOf(node, steps);
    for (const c of node.children) {
      c.n = 1;
      c.w = c.value;
      for (const a of path) {
        a.n++;
        a.w += c.value;
      }
    }
    close([...path]);
    if (node.children.some((c) => c.done && c.value >= target)) {
      stopReason = "target";
      break;
    }
  }

  // Nothing finished: complete the most visited path greedily, one line at a time, in budget.
  if (finished.length === 0 && stopReason !== "abort") {
    let node = root;
    for (;;) {
      const open = node.children?.filter((c) => !c.cut) ?? [];
      if (open.length === 0) break;
      node = open.reduce((a, b) => (b.n > a.n || (b.n === a.n && q(b) > q(a)) ? b : a));
    }
    let text = node.text;
    let depth = node.depth;
    let done = node.done;
    while (!done && depth < maxSteps && tokens < budget && !o.signal?.aborted) {
      const [s] = await gen(text, {
        n: 1,
        temperature: 0,
        maxTokens: Math.min(maxStepTokens, budget - tokens),
      });
      tokens += s.tokens;
      text += s.text;
      depth++;
      done = s.done || s.text === "";
    }
    const value = await score(text, true);
    finished.push({
      text,
      depth,
      prior: 0,
      value,
      n: 0,
      w: 0,
      done: true,
      cut: false,
      count: 1,
      closed: true,
    });
  }
  // best value; ties: more visits, then found earlier (stable sort)
  const ranked = [...finished].sort((a, b) => b.value - a.value || b.n - a.n);
  const best = ranked[0];
  return {
    answer: best ? extract(best.text) : undefined,
    text: best?.text ?? "",
    best,
    finished: ranked,
    root,
    tokens,
    expansions,
    scored,
    merged,
    redrawn,
    stopReason,
  };
}
