/**
 * "Run these JS unit tests" verifier. The candidate's code (the last ```js fence of its answer,
 * else the whole answer part) and the tests run in the tools area's sandbox (tools/builtin/
 * sandbox.ts: QuickJS compiled to WebAssembly, a fresh runtime per run, no host objects, time,
 * memory and stack limits; the caller's tests reach it over HTTP, so it must hold against
 * hostile code — see test/security/sandbox.test.ts). One script per
 * candidate: assert helpers, then the candidate's code, then each test body inside its own
 * try/catch; its completion value is the JSON list of per-test errors ("" = passed).
 * Score = share of tests passed; code that fails to load or runs away fails every test.
 */
import { InputError } from "../../errors.js";
import { runSandboxed } from "../../tools/builtin/sandbox.js";
import { answerPart } from "../extract.js";
import type { Verdict, Verifier, VerifyInput } from "./verifier.js";

export interface JSTestsOptions {
  /** Wall-clock limit for the whole run, ms. Default 2000. */
  timeoutMs?: number;
  /** Sandbox memory limit (the guest's whole heap, ArrayBuffers included), MiB. Default 64. */
  memoryMb?: number;
}

export function extractCode(text: string): string {
  const body = answerPart(text);
  const fences = [...body.matchAll(/```(?:js|javascript|ts|typescript)?[^\n]*\n([\s\S]*?)```/g)];
  return fences.length ? fences[fences.length - 1][1] : body;
}

// Defined inside the sandbox context (no host objects cross in).
const PRELUDE = `
function __fmt(x) { try { return JSON.stringify(x); } catch { return String(x); } }
function __eq(a, b) {
  if (Object.is(a, b)) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a), kb = Object.keys(b);
  return ka.length === kb.length && ka.every((k) => __eq(a[k], b[k]));
}
function assert(c, m) { if (!c) throw new Error(m || "assertion failed"); }
assert.ok = assert;
assert.equal = (a, b, m) => { if (!Object.is(a, b)) throw new Error(m || __fmt(a) + " !== " + __fmt(b)); };
assert.deepEqual = (a, b, m) => { if (!__eq(a, b)) throw new Error(m || __fmt(a) + " does not deep-equal " + __fmt(b)); };
assert.throws = (f, m) => { try { f(); } catch { return; } throw new Error(m || "expected an exception"); };
`;

function script(code: string, tests: string[]): string {
  const runs = tests.map(
    (t) =>
      `__r.push((() => { try { (function () {\n${t}\n})(); return ""; } catch (e) { try { return String(e && e.message || e) || "error"; } catch { return "error"; } } })());`,
  );
  return `${PRELUDE}\n${code}\n;var __r = [];\n${runs.join("\n")}\nJSON.stringify(__r);`;
}

export interface JSTestRun {
  passed: boolean[];
  errors: string[];
  /** Set when the code failed to load or the run was killed. */
  fatal?: string;
}

export async function runJSTests(code: string, tests: string[], o: JSTestsOptions = {}): Promise<JSTestRun> {
  const none = (fatal: string): JSTestRun => ({
    passed: tests.map(() => false),
    errors: tests.map(() => fatal),
    fatal,
  });
  let r;
  try {
    r = await runSandboxed(script(code, tests), {
      timeoutMs: o.timeoutMs ?? 2000,
      memoryMb: o.memoryMb ?? 64,
    });
  } catch (e) {
    return none((e as Error).message);
  }
  if (!r.ok || r.value === undefined) return none(r.error ?? "no result");
  try {
    const errs = JSON.parse(r.value) as unknown;
    if (!Array.isArray(errs) || errs.length !== tests.length || errs.some((x) => typeof x !== "string"))
      return none("malformed test report");
    return { passed: errs.map((x) => x === ""), errors: errs as string[] };
  } catch {
    return none("malformed test report");
  }
}

export class JSTestsVerifier implements Verifier {
  readonly name = "js-tests";
  constructor(
    readonly tests: string[],
    readonly opts: JSTestsOptions = {},
  ) {
    if (!Array.isArray(tests) || tests.length === 0 || tests.some((t) => typeof t !== "string")) {
      throw new InputError("js-tests verifier needs a non-empty array of test bodies (strings)", {
        field: "tests",
      });
    }
  }

  async verify(input: VerifyInput): Promise<Verdict> {
    if (input.partial) return { score: 0.5, detail: "partial candidate" };
    const r = await runJSTests(extractCode(input.text), this.tests, this.opts);
    const n = r.passed.filter(Boolean).length;
    const firstFail = r.errors.find((e, i) => !r.passed[i]);
    return {
      score: n / this.tests.length,
      detail: `${n}/${this.tests.length} tests passed${firstFail ? `; ${firstFail}` : ""}`,
    };
  }
}
