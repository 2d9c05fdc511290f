/**
 * "Run these JS unit tests" verifier: the candidate's code (the last ```js fence of its answer,
 * else the whole answer part) runs in a separate worker thread inside a vm context with no host
 * objects (js-worker.ts), with a per-statement timeout, a memory cap and a hard deadline after
 * which the worker is terminated. Each test is a JS body that throws on failure and may use
 * assert / assert.equal / assert.deepEqual / assert.throws. Score = share of tests passed.
 * Isolation is against mistakes and runaway code, not a security boundary against V8 exploits.
 */
import { Worker } from "node:worker_threads";
import { InputError } from "../../errors.js";
import { answerPart } from "../extract.js";
import type { Verdict, Verifier, VerifyInput } from "./verifier.js";

export interface JSTestsOptions {
  /** Per-run vm timeout for synchronous code, ms. Default 200. */
  timeoutMs?: number;
  /** Hard deadline for the whole worker, ms. Default 2000. */
  deadlineMs?: number;
  /** Worker heap cap, MB. Default 64. */
  memoryMb?: number;
}

export function extractCode(text: string): string {
  const body = answerPart(text);
  const fences = [...body.matchAll(/```(?:js|javascript|ts|typescript)?[^\n]*\n([\s\S]*?)```/g)];
  return fences.length ? fences[fences.length - 1][1] : body;
}

export interface JSTestRun {
  passed: boolean[];
  errors: string[];
  fatal?: string;
}

/** Run code then tests in a fresh sandbox worker. */
export function runJSTests(code: string, tests: string[], o: JSTestsOptions = {}): Promise<JSTestRun> {
  const timeoutMs = o.timeoutMs ?? 200;
  const deadlineMs = o.deadlineMs ?? 2000;
  return new Promise((resolve) => {
    const w = new Worker(new URL("./js-worker.js", import.meta.url), {
      workerData: { code, tests, timeoutMs },
      env: {},
      execArgv: [],
      stdout: true,
      stderr: true,
      resourceLimits: { maxOldGenerationSizeMb: o.memoryMb ?? 64, maxYoungGenerationSizeMb: 16 },
    });
    const none = (fatal: string): JSTestRun => ({ passed: tests.map(() => false), errors: tests.map(() => fatal), fatal });
    let settled = false;
    const settle = (r: JSTestRun) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      void w.terminate();
      resolve(r);
    };
    const timer = setTimeout(() => settle(none(`deadline of ${deadlineMs} ms passed`)), deadlineMs);
    w.once("message", (m: { passed: boolean[]; errors: string[] } | { fatal: string }) => settle("fatal" in m ? none(m.fatal) : m));
    w.once("error", (e) => settle(none(`worker failed: ${e.message}`)));
    w.once("exit", (code) => settle(none(`worker exited with code ${code}`)));
  });
}

export class JSTestsVerifier implements Verifier {
  readonly name = "js-tests";
  constructor(
    readonly tests: string[],
    readonly opts: JSTestsOptions = {},
  ) {
    if (!Array.isArray(tests) || tests.length === 0 || tests.some((t) => typeof t !== "string")) {
      throw new InputError("js-tests verifier needs a non-empty array of test bodies (strings)", { field: "tests" });
    }
  }

  async verify(input: VerifyInput): Promise<Verdict> {
    if (input.partial) return { score: 0.5, detail: "partial candidate" };
    const r = await runJSTests(extractCode(input.text), this.tests, this.opts);
    const n = r.passed.filter(Boolean).length;
    const firstFail = r.errors.find((e, i) => !r.passed[i]);
    return { score: n / this.tests.length, detail: `${n}/${this.tests.length} tests passed${firstFail ? `; ${firstFail}` : ""}` };
  }
}
