/**
 * A reverse curriculum of hints for GRPO (the idea of Florensa et al. 2017's reverse curriculum and
 * of R3, Xi et al. 2024, for LLM reasoning): a problem the policy never solves gives a group of
 * all-zero rewards and no gradient, so its prompt starts with the first `level` lines of the
 * correct working (the assistant turn up to there), and the policy writes the rest. Per problem:
 *   all G samples right  -> the hint is shortened by `stride` lines (at level 0: solved, retired)
 *   all G samples wrong  -> the hint is lengthened by `stride` lines (at the longest hint: given up)
 *   mixed, mostly right  -> shortened by one line (the group carried its gradient)
 * The longest hint stops two lines before `</think>`, so the answer line is never given.
 * Each step draws its problems uniformly from the active ones with the step's generator; the state
 * (levels and statuses) is saved in the GRPO checkpoint, so a resumed run continues exactly.
 */
import { InputError } from "../../errors.js";
import type { Rng } from "../../sampling/rng.js";
import type { PromptSource, RlPrompt } from "./grpo.js";

/** A problem with its worked solution: the chat prefix up to the assistant turn and the turn's lines. */
export interface WorkedProblem {
  /** chat text up to and including `<|im_start|>assistant\n` */
  prefix: string;
  /** the assistant turn split at "\n" (`<think>`, working lines, `</think>`, answer line) */
  lines: string[];
  answer: string;
  /** the problem's split key (problems.ts) */
  key: string;
  /** a label for reports (e.g. "mul 3x2", "word en") */
  shape: string;
}

export interface HintCurriculumOptions {
  /** lines added or removed per move (default: a quarter of the working, at least 1) */
  stride?: (thinkLines: number) => number;
  /** completion token cap: the rest of the reference working x slack + margin, at most `maxTokens` */
  maxTokens: number;
  /** the first hint of every problem, as a share of its longest hint (default 0: no hint) */
  start?: number;
  slack?: number;
  margin?: number;
}

export interface HintState {
  level: number[];
  /** 0 active, 1 solved without a hint, 2 never right at the longest hint */
  status: number[];
  visits: number[];
}

const ACTIVE = 0;
const SOLVED = 1;
const GIVEN_UP = 2;

export class HintCurriculum implements PromptSource {
  readonly maxLevel: number[];
  private readonly strideOf: number[];
  private st: HintState;
  private readonly cache = new Map<string, RlPrompt>();

  constructor(
    private readonly problems: readonly WorkedProblem[],
    private readonly encode: (text: string) => number[],
    private readonly o: HintCurriculumOptions,
  ) {
    if (problems.length === 0)
      throw new InputError("the hint curriculum needs problems", { field: "prompts" });
    this.maxLevel = problems.map((p) => {
      const end = p.lines.indexOf("</think>");
      if (end < 1) throw new InputError(`worked solution of '${p.shape}' has no </think> line`);
      return Math.max(0, end - 2);
    });
    this.strideOf = this.maxLevel.map((m) => Math.max(1, o.stride ? o.stride(m) : Math.ceil(m / 4)));
    this.st = {
      level: this.maxLevel.map((m) => Math.round(m * Math.min(1, Math.max(0, o.start ?? 0)))),
      status: problems.map(() => ACTIVE),
      visits: problems.map(() => 0),
    };
  }

  /** The prompt of problem i with its first `level` lines given (cached). */
  prompt(i: number, level: number): RlPrompt {
    const k = `${i}:${level}`;
    let p = this.cache.get(k);
    if (!p) {
      const pr = this.problems[i];
      const hint = level > 0 ? pr.lines.slice(0, level).join("\n") + "\n" : "";
      const rest = pr.lines.slice(level).join("\n");
      const restTokens = this.encode(rest).length + 1;
      p = {
        ids: this.encode(pr.prefix + hint),
        answer: pr.answer,
        maxTokens: Math.min(
          this.o.maxTokens,
          Math.ceil(restTokens * (this.o.slack ?? 1.25)) + (this.o.margin ?? 16),
        ),
        source: i,
        hint: level,
      };
      this.cache.set(k, p);
    }
    return p;
  }

  pick(_step: number, P: number, rng: Rng): RlPrompt[] {
    const active = this.st.status.flatMap((s, i) => (s === ACTIVE ? [i] : []));
    if (active.length === 0) throw new InputError("every problem of the hint curriculum is retired");
    const out: RlPrompt[] = [];
    for (let j = 0; j < Math.min(P, active.length); j++) {
      const r = j + Math.floor(rng.uniform() * (active.length - j));
      [active[j], active[r]] = [active[r], active[j]];
      out.push(this.prompt(active[j], this.st.level[active[j]]));
    }
    // fewer active problems than P: repeat from the start (same problem, another group)
    for (let j = out.length; j < P; j++) out.push(out[j % active.length]);
    return out;
  }

  update(prompts: readonly RlPrompt[], passRates: readonly number[]): void {
    const seen = new Set<number>();
    prompts.forEach((p, j) => {
      const i = p.source!;
      if (seen.has(i)) return;
      seen.add(i);
      const s = this.st;
      s.visits[i]++;
      const r = passRates[j];
      const d = this.strideOf[i];
      if (r >= 1) {
        if (s.level[i] === 0) s.status[i] = SOLVED;
        else s.level[i] = Math.max(0, s.level[i] - d);
      } else if (r <= 0) {
        if (s.level[i] >= this.maxLevel[i]) s.status[i] = GIVEN_UP;
        else s.level[i] = Math.min(this.maxLevel[i], s.level[i] + d);
      } else if (r >= 0.75 && s.level[i] > 0) s.level[i]--;
    });
  }

  state(): HintState {
    return structuredClone(this.st);
  }

  restore(s: unknown): void {
    const h = s as HintState;
    const n = this.problems.length;
    if (!h || h.level?.length !== n || h.status?.length !== n || h.visits?.length !== n)
      throw new InputError("the checkpoint's curriculum state does not match these problems");
    this.st = structuredClone(h);
  }

  describe(): string {
    const s = this.st;
    const n = s.status.length;
    const count = (v: number) => s.status.filter((x) => x === v).length;
    const act = s.level.filter((_, i) => s.status[i] === ACTIVE);
    const hinted = act.filter((l) => l > 0).length;
    const mean = act.length ? act.reduce((a, b) => a + b, 0) / act.length : 0;
    return `curriculum: ${count(ACTIVE)}/${n} active (${hinted} hinted, mean hint ${mean.toFixed(1)} lines), ${count(SOLVED)} solved, ${count(GIVEN_UP)} given up`;
  }

  /** Per shape: problems solved without a hint / visited, and the mean hint of the active ones. */
  byShape(): Record<string, { visited: number; solved: number; givenUp: number; meanHint: number }> {
    const out: Record<
      string,
      { visited: number; solved: number; givenUp: number; meanHint: number; n: number }
    > = {};
    this.problems.forEach((p, i) => {
      if (this.st.visits[i] === 0) return;
      const r = (out[p.shape] ??= { visited: 0, solved: 0, givenUp: 0, meanHint: 0, n: 0 });
      r.visited++;
      if (this.st.status[i] === SOLVED) r.solved++;
      if (this.st.status[i] === GIVEN_UP) r.givenUp++;
      if (this.st.status[i] === ACTIVE) {
        r.meanHint += this.st.level[i];
        r.n++;
      }
    });
    return Object.fromEntries(
      Object.entries(out).map(([k, { n, ...r }]) => [k, { ...r, meanHint: n ? r.meanHint / n : 0 }]),
    );
  }
}
