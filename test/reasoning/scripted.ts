// A scripted Generator: sample i emits texts[i] in `steps[i]` token events, round-robin, so
// samples finish in order of their step counts (as parallel decoding would), and it honours
// the abort signal like the engine (every sample still ends with a "done", reason "abort").
import type { Generator, SampleEvent, SampleOptions } from "../../src/reasoning/generator.js";

export function scripted(
  texts: string[],
  steps?: number[],
): Generator & { calls: SampleOptions[]; emitted: () => number } {
  const calls: SampleOptions[] = [];
  let emitted = 0;
  const gen = async function* (opts: SampleOptions): AsyncGenerator<SampleEvent> {
    calls.push(opts);
    const n = opts.n;
    const st = Array.from({ length: n }, (_, i) => Math.max(1, steps?.[i] ?? 4));
    const pos = new Array<number>(n).fill(0);
    const done = new Array<boolean>(n).fill(false);
    const text = (i: number) => texts[i % texts.length];
    while (done.includes(false)) {
      for (let i = 0; i < n; i++) {
        if (done[i]) continue;
        if (opts.signal?.aborted) {
          done[i] = true;
          yield { type: "done", index: i, text: "", reason: "abort", completionTokens: pos[i] };
          continue;
        }
        const t = text(i);
        const a = Math.floor((pos[i] * t.length) / st[i]);
        pos[i]++;
        const b = Math.floor((pos[i] * t.length) / st[i]);
        emitted++;
        yield { type: "token", index: i, text: t.slice(a, b) };
        if (pos[i] === st[i]) {
          done[i] = true;
          yield { type: "done", index: i, text: "", reason: "stop", completionTokens: st[i] };
        }
        await Promise.resolve();
      }
    }
  };
  return Object.assign(gen, { calls, emitted: () => emitted });
}
