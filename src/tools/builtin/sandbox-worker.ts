/**
 * Runs inside the sandbox worker: evaluates untrusted JavaScript in a fresh V8 context that has
 * only the language's own globals (no require/import, process, fetch, timers, fs), with string
 * code generation (eval, Function) disabled so `x.constructor.constructor("return process")`
 * cannot compile anything, and a V8 time limit. No host object or function is passed into the
 * context: console and the result formatter are built by code compiled inside it *before* the
 * untrusted code runs, from captured built-ins (so tampering with JSON, Array.prototype, ... does
 * not reach them), installed as non-writable properties, and return one string.
 */
import { parentPort, workerData } from "node:worker_threads";
import vm from "node:vm";

const { code, timeoutMs } = workerData as { code: string; timeoutMs: number };
const deadline = Date.now() + timeoutMs;

const ctx = vm.createContext(Object.create(null), {
  codeGeneration: { strings: false, wasm: false },
  microtaskMode: "afterEvaluate",
});

vm.runInContext(
  `(() => {
    const apply = Reflect.apply, push = Array.prototype.push, join = Array.prototype.join, map = Array.prototype.map;
    const stringify = JSON.stringify, Str = String, define = Object.defineProperty, isErr = Error.prototype.isPrototypeOf.bind(Error.prototype);
    const out = [];
    let size = 0;
    const fmt = (v) => {
      if (typeof v === "string") return v;
      try { const s = apply(stringify, JSON, [v]); return s === undefined ? Str(v) : s; } catch { try { return Str(v); } catch { return "[unprintable]"; } }
    };
    const log = (...a) => {
      const line = apply(join, apply(map, a, [fmt]), [" "]);
      size += line.length;
      if (size > 100000) throw new Error("output limit (100000 characters) exceeded");
      apply(push, out, [line]);
    };
    const state = { value: undefined, error: undefined, failed: false, pending: false };
    const errText = (e) => { try { return Str(e !== null && typeof e === "object" && "message" in e ? e.message : e); } catch { return "error"; } };
    const fixed = (name, value) => define(globalThis, name, { value, writable: false, configurable: false, enumerable: false });
    globalThis.console = { log, info: log, warn: log, error: log };
    fixed("__settle", (v, failed) => {
      if (failed) { state.failed = true; state.error = errText(v); return; }
      let then;
      try { then = v !== null && (typeof v === "object" || typeof v === "function") ? v.then : undefined; } catch (e) { state.failed = true; state.error = errText(e); return; }
      if (typeof then === "function") {
        state.pending = true;
        try { apply(then, v, [(x) => { state.pending = false; state.value = x; }, (e) => { state.pending = false; state.failed = true; state.error = errText(e); }]); }
        catch (e) { state.pending = false; state.failed = true; state.error = errText(e); }
      } else state.value = v;
    });
    fixed("__pending", () => state.pending);
    fixed("__report", () => apply(stringify, JSON, [{ stdout: apply(join, out, ["\\n"]), value: state.failed ? undefined : fmt(state.value), error: state.failed ? state.error : state.pending ? "promise did not settle (the sandbox has no timers or I/O)" : undefined }]));
  })()`,
  ctx,
);

const left = () => Math.max(1, deadline - Date.now());
let timedOut = false;
const settle = vm.runInContext("__settle", ctx) as (v: unknown, failed: boolean) => void;
const pending = vm.runInContext("__pending", ctx) as () => boolean;
try {
  const v = vm.runInContext(code, ctx, { timeout: left(), filename: "sandbox.js" });
  settle(v, false);
} catch (e) {
  timedOut = e instanceof Error && /Script execution timed out/.test(e.message);
  settle(timedOut ? "Script execution timed out" : e, true);
}

async function finish(): Promise<void> {
  // A returned promise settles through the context's microtasks, flushed by evaluating a no-op.
  while (pending() && Date.now() < deadline) {
    await new Promise((r) => setImmediate(r));
    try {
      vm.runInContext("0", ctx, { timeout: Math.max(20, left()) });
    } catch {
      timedOut = true;
      settle("Script execution timed out", true);
    }
  }
  let msg: unknown;
  try {
    // Formatting is our code but walks user values (getters, huge objects): its own time budget.
    msg = vm.runInContext("__report()", ctx, { timeout: 250 });
  } catch {
    msg = undefined;
  }
  if (typeof msg !== "string") {
    msg = JSON.stringify({
      stdout: "",
      error: timedOut ? "Script execution timed out" : "could not format the result",
    });
  }
  parentPort!.postMessage(msg);
}
void finish();
