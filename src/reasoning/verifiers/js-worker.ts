/**
 * Worker side of the JS unit-test verifier. Runs the candidate's code and then each test in a
 * fresh vm context that holds no host object: the `assert` helpers are defined by source inside
 * the context, inputs arrive as strings and the results leave as one JSON string, so nothing
 * reachable from the candidate's code leads back to the worker's `process` or `require`.
 * Synchronous runaway code is cut by vm's timeout; the parent also terminates the whole worker
 * on its own deadline (async loops, memory). Messages: in workerData {code, tests, timeoutMs};
 * out: {passed: boolean[], errors: string[]} or {fatal}.
 */
import { parentPort, workerData } from "node:worker_threads";
import vm from "node:vm";

interface Job {
  code: string;
  tests: string[];
  timeoutMs: number;
}

const PRELUDE = `
"use strict";
function __fmt(x) { try { return JSON.stringify(x); } catch { return String(x); } }
function __eq(a, b) {
  if (Object.is(a, b)) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a), kb = Object.keys(b);
  return ka.length === kb.length && ka.every((k) => __eq(a[k], b[k]));
}
globalThis.assert = function assert(c, m) { if (!c) throw new Error(m || "assertion failed"); };
assert.ok = assert;
assert.equal = (a, b, m) => { if (!Object.is(a, b)) throw new Error(m || __fmt(a) + " !== " + __fmt(b)); };
assert.deepEqual = (a, b, m) => { if (!__eq(a, b)) throw new Error(m || __fmt(a) + " does not deep-equal " + __fmt(b)); };
assert.throws = (f, m) => { try { f(); } catch { return; } throw new Error(m || "expected an exception"); };
`;

function run(job: Job): { passed: boolean[]; errors: string[] } | { fatal: string } {
  const ctx = vm.createContext({}, { codeGeneration: { strings: false, wasm: false } });
  const opts = { timeout: job.timeoutMs, displayErrors: false };
  vm.runInContext(PRELUDE, ctx, opts);
  try {
    vm.runInContext(job.code, ctx, { ...opts, filename: "candidate.js" });
  } catch (e) {
    return { fatal: `candidate code failed: ${describe(e)}` };
  }
  const passed: boolean[] = [];
  const errors: string[] = [];
  for (const t of job.tests) {
    try {
      vm.runInContext(`(function () { ${t}\n})()`, ctx, { ...opts, filename: "test.js" });
      passed.push(true);
      errors.push("");
    } catch (e) {
      passed.push(false);
      errors.push(describe(e));
    }
  }
  return { passed, errors };
}

/** An error from inside the context, as a string (its objects are not the host's Error). */
function describe(e: unknown): string {
  try {
    const msg = (e as { message?: unknown })?.message;
    return typeof msg === "string" ? msg.slice(0, 200) : String(e).slice(0, 200);
  } catch {
    return "error";
  }
}

parentPort!.postMessage(run(workerData as Job));
