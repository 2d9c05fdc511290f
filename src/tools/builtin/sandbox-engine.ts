/**
 * The portable core of the JavaScript sandbox: untrusted code runs in QuickJS compiled to
 * WebAssembly (quickjs-emscripten, release "sync" build). No `node:*` import, so the same file
 * runs in a browser (Web Worker) later; the Node entry point is sandbox.ts, which runs this in a
 * worker thread.
 *
 * What a run guarantees
 * - Isolation: the guest is a separate JavaScript engine whose whole world is the wasm instance's
 *   linear memory. No host object, function or prototype is ever handed in: the only input is
 *   the code string, the only outputs are strings read back out (console output, the completion
 *   value formatted as JSON where possible, an error message). `x.constructor.constructor`,
 *   rejected `import()` errors, Error.prepareStackTrace, Proxy/Symbol tricks and the like only
 *   ever reach the guest's own built-ins, because there is nothing else in that engine.
 * - No capabilities: no fs, network, env, timers, process, std/os modules, WebAssembly or module
 *   loader (no loader is installed, so `import()` and `import` statements fail inside the guest).
 *   eval / Function work, but only compile guest code.
 * - Limits, each a typed error (SandboxErrorKind): time (a deadline checked by QuickJS's
 *   interrupt handler; covers loops, recursion, regex backtracking and promise jobs), memory
 *   (the instance's WebAssembly.Memory has a hard maximum of BASE_MB + memoryMb: every guest
 *   allocation — objects, strings, ArrayBuffers — lives in it, so host memory cannot grow past it;
 *   runtime.setMemoryLimit is also set but in quickjs-emscripten 0.32 it only refuses single
 *   allocations larger than the limit, see justjake/quickjs-emscripten#271), stack (QuickJS's own
 *   stack limit, well under the 5 MB wasm shadow stack), code length, output length.
 * - A fresh QuickJS runtime + context per run: nothing a run defines (globals, tampered
 *   prototypes) is seen by the next one. The wasm module is loaded once and reused; the instance
 *   is replaced when a run grew its memory past RESTING_MB (so the host gets the memory back),
 *   when the memory limit changes, or after any failure of the engine itself.
 *
 * What it does not guarantee
 * - It does not protect the host's event loop: evaluation is synchronous. Callers that must stay
 *   responsive run it off their main thread (sandbox.ts does, in a Node worker).
 * - Runs share one wasm instance in turn: a memory-safety bug in QuickJS itself could let a run
 *   read leftovers of an earlier run in that instance's memory (never host memory).
 * - Native operations that never poll the interrupt handler (a single huge allocation or copy)
 *   finish before the deadline is noticed; they are bounded by the memory cap, and sandbox.ts
 *   kills its worker as a backstop.
 * - The time limit is wall-clock, so a loaded machine gives the guest less CPU.
 */
import {
  newQuickJSWASMModule,
  newVariant,
  RELEASE_SYNC,
  type QuickJSContext,
  type QuickJSHandle,
  type QuickJSRuntime,
  type QuickJSWASMModule,
} from "quickjs-emscripten";

export interface SandboxOptions {
  /** Wall-clock limit in ms (default 2000). */
  timeoutMs?: number;
  /** Memory limit for the guest's heap, MiB (default 64, at most 1024). */
  memoryMb?: number;
}

/** Why a run failed; absent when ok. */
export type SandboxErrorKind =
  | "timeout" // the deadline passed (interrupt handler, or the worker was killed)
  | "memory" // the memory limit was hit
  | "stack" // call stack (or parser nesting) too deep
  | "syntax" // the code does not parse
  | "exception" // the code threw, or its returned promise rejected
  | "unsettled" // the returned promise never settled (there are no timers or I/O)
  | "output" // console output over the limit
  | "internal"; // the sandbox itself failed (engine fault, worker crash)

export interface SandboxResult {
  ok: boolean;
  /** console output, lines joined by "\n". */
  stdout: string;
  /** The completion value of the script, formatted (JSON where possible). */
  value?: string;
  error?: string;
  /** Set when !ok. */
  errorKind?: SandboxErrorKind;
}

export const MAX_CODE = 100_000;
export const MAX_OUTPUT = 100_000;
/** Initial wasm memory of the QuickJS build (static data, 5 MB shadow stack, runtime). */
const BASE_MB = 16;
/** After a run, an instance whose memory grew past this is dropped to return memory to the host. */
const RESTING_MB = 32;
/** QuickJS stack limit: deep enough for ordinary recursion, far below the 5 MB shadow stack. */
const STACK_BYTES = 256 * 1024;
/** Extra time for formatting the result (it may run guest getters / toJSON). */
const REPORT_MS = 250;
const PAGE = 65536;

export function resolveLimits(opts: SandboxOptions): { timeoutMs: number; memoryMb: number } {
  const timeoutMs = Math.max(1, Math.floor(opts.timeoutMs ?? 2000));
  const memoryMb = Math.min(1024, Math.max(1, Math.floor(opts.memoryMb ?? 64)));
  return { timeoutMs, memoryMb };
}

export const timeoutError = (timeoutMs: number): SandboxResult => ({
  ok: false,
  stdout: "",
  error: `killed: time limit ${timeoutMs} ms exceeded`,
  errorKind: "timeout",
});

/** One loaded wasm instance with its memory, whose maximum is fixed at creation. */
interface Engine {
  module: QuickJSWASMModule;
  memory: WebAssembly.Memory;
  memoryMb: number;
  /** Set by the memory's grow wrapper when a growth was refused at the cap. */
  refused: boolean;
}

let current: Promise<Engine> | undefined;

async function createEngine(memoryMb: number): Promise<Engine> {
  const maxPages = ((BASE_MB + memoryMb) * 1024 * 1024) / PAGE;
  const memory = new WebAssembly.Memory({ initial: (BASE_MB * 1024 * 1024) / PAGE, maximum: maxPages });
  const engine = { memory, memoryMb, refused: false } as Engine;
  // Emscripten grows memory through this object's grow(); shadowing it (on this instance only)
  // records that the guest hit the cap, so the OOM is reported as the memory limit.
  const grow = memory.grow;
  Object.defineProperty(memory, "grow", {
    value: (delta: number) => {
      if (memory.buffer.byteLength / PAGE + delta > maxPages) {
        engine.refused = true;
        throw new RangeError("sandbox memory limit");
      }
      return grow.call(memory, delta);
    },
  });
  engine.module = await newQuickJSWASMModule(newVariant(RELEASE_SYNC, { wasmMemory: memory }));
  return engine;
}

async function getEngine(memoryMb: number): Promise<Engine> {
  if (current) {
    const e = await current.catch(() => undefined);
    if (e && e.memoryMb === memoryMb) return e;
  }
  current = createEngine(memoryMb);
  current.catch(() => (current = undefined));
  return current;
}

function dropEngine(e: Engine): void {
  void current?.then((c) => {
    if (c === e) current = undefined;
  });
}

// Guest-side helpers, compiled inside the guest before the untrusted code runs, from built-ins
// captured at that moment (later tampering by the code does not reach them). The code can only
// reach `console`; the formatter, the output buffer and the promise wrapper stay in this closure,
// returned to the host as handles.
const PRELUDE = `(() => {
  const apply = Reflect.apply, stringify = JSON.stringify, Str = String;
  const P = Promise, resolve = Promise.resolve;
  let out = "", lines = 0, size = 0;
  const fmt = (v) => {
    if (typeof v === "string") return v;
    try { const s = apply(stringify, undefined, [v]); if (typeof s === "string") return s; } catch {}
    try { return Str(v); } catch { return "[unprintable]"; }
  };
  const errText = (e) => {
    if (e !== null && typeof e === "object") {
      try {
        const name = e.name, msg = e.message;
        if (typeof msg === "string") return (typeof name === "string" && name ? name + ": " : "") + msg;
      } catch {}
    }
    return "uncaught exception: " + fmt(e);
  };
  const log = (...a) => {
    let line = "";
    for (let i = 0; i < a.length; i++) line += (i ? " " : "") + fmt(a[i]);
    size += line.length + 1;
    if (size > ${MAX_OUTPUT}) { size = ${MAX_OUTPUT} + 1; throw new Error("output limit (${MAX_OUTPUT} characters) exceeded"); }
    out += (lines++ ? "\\n" : "") + line;
  };
  globalThis.console = { log, info: log, warn: log, error: log, debug: log, trace: log };
  return [() => out, fmt, errText, (v) => apply(resolve, P, [v]), () => (size > ${MAX_OUTPUT} ? "full" : "")];
})()`;

/**
 * Runs `code` in a fresh QuickJS runtime and context. Synchronous once the engine is loaded:
 * it blocks the calling thread for up to timeoutMs (+ REPORT_MS).
 */
export async function runInQuickJS(
  code: string,
  opts: SandboxOptions = {},
  onStart?: () => void,
): Promise<SandboxResult> {
  const { timeoutMs, memoryMb } = resolveLimits(opts);
  const engine = await getEngine(memoryMb);
  engine.refused = false;
  onStart?.();
  try {
    return evaluate(engine, code, timeoutMs, memoryMb);
  } catch (e) {
    // The engine itself failed (V8 stack exhausted inside wasm, an abort): its state is unknown,
    // so the instance is dropped and the next run gets a fresh one.
    dropEngine(engine);
    if (e instanceof RangeError && /call stack/i.test(e.message))
      return {
        ok: false,
        stdout: "",
        error: "stack overflow (maximum call stack size exceeded)",
        errorKind: "stack",
      };
    return {
      ok: false,
      stdout: "",
      error: `sandbox engine failure: ${(e as Error)?.message ?? e}`,
      errorKind: "internal",
    };
  } finally {
    if (engine.memory.buffer.byteLength > RESTING_MB * 1024 * 1024) dropEngine(engine);
  }
}

function evaluate(engine: Engine, code: string, timeoutMs: number, memoryMb: number): SandboxResult {
  let deadline = Date.now() + timeoutMs;
  let timedOut = false;
  const rt: QuickJSRuntime = engine.module.newRuntime();
  let disposeOk = true;
  const handles: QuickJSHandle[] = [];
  const keep = (h: QuickJSHandle) => (handles.push(h), h);
  let ctx: QuickJSContext | undefined;
  try {
    rt.setMemoryLimit(memoryMb * 1024 * 1024);
    rt.setMaxStackSize(STACK_BYTES);
    rt.setInterruptHandler(() => {
      if (Date.now() <= deadline) return false;
      timedOut = true;
      return true;
    });
    ctx = rt.newContext();
    const c = ctx;
    const prelude = c.evalCode(PRELUDE, "prelude.js");
    if (prelude.error) {
      keep(prelude.error);
      return fail("sandbox prelude failed", "internal");
    }
    const helpers = keep(prelude.value);
    const [take, fmt, errText, toPromise, outputFull] = [0, 1, 2, 3, 4].map((i) =>
      keep(c.getProp(helpers, i)),
    );

    const str = (fn: QuickJSHandle, arg?: QuickJSHandle): string | undefined => {
      const r = arg === undefined ? c.callFunction(fn, c.undefined) : c.callFunction(fn, c.undefined, arg);
      const h = keep(r.error ?? r.value);
      return r.error ? undefined : c.typeof(h) === "string" ? c.getString(h) : undefined;
    };
    // Reading the results runs guest code (formatting calls toJSON and getters): it gets its own
    // small budget, also after a timeout (the timeout itself stays recorded).
    const report = (): void => {
      deadline = Date.now() + REPORT_MS;
    };
    const stdout = () => str(take) ?? "";
    const timeout = (): SandboxResult => {
      report();
      return { ...timeoutError(timeoutMs), stdout: stdout() };
    };
    const classify = (errHandle: QuickJSHandle, syntax: boolean): SandboxResult => {
      if (timedOut) return timeout();
      report();
      const text = str(errText, errHandle) ?? "error";
      const out = stdout();
      if (engine.refused || /^InternalError: out of memory/.test(text))
        return {
          ok: false,
          stdout: out,
          error: `killed: memory limit ${memoryMb} MiB exceeded`,
          errorKind: "memory",
        };
      if (/^(InternalError|SyntaxError): stack overflow/.test(text))
        return {
          ok: false,
          stdout: out,
          error: "stack overflow (maximum call stack size exceeded)",
          errorKind: "stack",
        };
      if (str(outputFull) === "full") return { ok: false, stdout: out, error: text, errorKind: "output" };
      return { ok: false, stdout: out, error: text, errorKind: syntax ? "syntax" : "exception" };
    };

    // Parse first, so a syntax error in the code is told apart from one thrown at run time.
    const compiled = c.evalCode(code, "sandbox.js", { compileOnly: true });
    keep(compiled.error ?? compiled.value);
    if (compiled.error) return classify(compiled.error, !timedOut);

    const run = c.evalCode(code, "sandbox.js");
    if (run.error) return classify(keep(run.error), false);
    const promised = c.callFunction(toPromise, c.undefined, keep(run.value));
    if (promised.error) return classify(keep(promised.error), false);
    const p = keep(promised.value);
    // Drain promise jobs (async functions, then-callbacks) until none is left or time is up.
    while (!timedOut && rt.hasPendingJob()) {
      const jobs = rt.executePendingJobs();
      if (jobs.error) keep(jobs.error);
    }
    if (timedOut) return timeout();
    const state = c.getPromiseState(p);
    if (state.type === "pending") {
      report();
      return {
        ok: false,
        stdout: stdout(),
        error: "promise did not settle (the sandbox has no timers or I/O)",
        errorKind: "unsettled",
      };
    }
    if (state.type === "rejected") return classify(keep(state.error), false);
    if (state.value !== p) keep(state.value);
    report();
    const value = str(fmt, state.value);
    if (timedOut) return timeout();
    if (value === undefined) return fail("could not format the result", "internal");
    return { ok: true, stdout: stdout(), value, error: undefined };
  } finally {
    for (const h of handles.reverse()) if (h.alive) h.dispose();
    try {
      ctx?.dispose();
      rt.dispose();
    } catch {
      disposeOk = false;
    }
    if (!disposeOk) dropEngine(engine);
  }

  function fail(error: string, errorKind: SandboxErrorKind): SandboxResult {
    return { ok: false, stdout: "", error, errorKind };
  }
}
