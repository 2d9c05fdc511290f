/**
 * JavaScript code runner for untrusted code (Node entry point). The code runs in QuickJS compiled
 * to WebAssembly (sandbox-engine.ts: what a run guarantees and what it does not is written
 * there), hosted by a small pool of long-lived worker threads (sandbox-worker.ts).
 *
 * Why worker threads, when QuickJS's interrupt handler already stops runaway loops:
 * - Evaluation is synchronous. On the main thread every run (up to timeoutMs, 2 s by default)
 *   would stop the server's event loop — every other request, /health included. In a worker the
 *   event loop stays free.
 * - Stack: wasm runs on the host thread's native stack. On Node's main thread (~1 MB) QuickJS's
 *   parser overflows the *host* stack before its own limit triggers ('['.repeat(1e5) in eval),
 *   leaving the engine in an unknown state. The workers get a 16 MB stack, enough for QuickJS's
 *   own 256 KiB limit to fire first (the host error is still caught, as a second line).
 * - A backstop: native work that never polls the interrupt handler is bounded by the memory cap,
 *   and the worker is terminated if a run overstays its deadline by KILL_GRACE_MS.
 * The wasm module is loaded once per worker and reused; each run gets a fresh QuickJS runtime and
 * context. Runs queue for a free worker (at most MAX_WORKERS); the time limit counts from the
 * start of the run, not from the wait in the queue. Idle workers exit after IDLE_MS and never
 * keep the process alive.
 */
import { Worker } from "node:worker_threads";
import { InputError } from "../../errors.js";
import type { Tool } from "../registry.js";
import {
  MAX_CODE,
  resolveLimits,
  timeoutError,
  type SandboxErrorKind,
  type SandboxOptions,
  type SandboxResult,
} from "./sandbox-engine.js";

export type { SandboxErrorKind, SandboxOptions, SandboxResult };

const MAX_WORKERS = 2;
const IDLE_MS = 30_000;
/** Past the deadline (plus the engine's own time to report), the worker is killed. */
const KILL_GRACE_MS = 1000;
/** A worker that does not start a run within this long is given up (a loaded machine). */
const START_MS = 15_000;

interface Slot {
  w: Worker;
  busy: boolean;
  idle?: ReturnType<typeof setTimeout>;
}

const slots: Slot[] = [];
const waiting: ((s: Slot) => void)[] = [];
let seq = 0;

function spawn(): Slot {
  const w = new Worker(new URL("./sandbox-worker.js", import.meta.url), {
    // The guest's memory is the engine's WebAssembly.Memory (capped in sandbox-engine.ts), not
    // this heap; the heap limit only bounds the worker's own small JS.
    resourceLimits: { stackSizeMb: 16, maxOldGenerationSizeMb: 64, maxYoungGenerationSizeMb: 16 },
    env: {},
    // Nothing in the worker prints (an engine abort might): kept off the host's stdout/stderr.
    // Not drained, since a flowing stream would keep the process alive.
    stdout: true,
    stderr: true,
  });
  w.unref();
  const s: Slot = { w, busy: true };
  slots.push(s);
  return s;
}

function acquire(): Promise<Slot> {
  const free = slots.find((s) => !s.busy);
  if (free) {
    free.busy = true;
    clearTimeout(free.idle);
    return Promise.resolve(free);
  }
  if (slots.length < MAX_WORKERS) return Promise.resolve(spawn());
  return new Promise((resolve) => waiting.push(resolve));
}

function release(s: Slot): void {
  const next = waiting.shift();
  if (next) return next(s);
  s.busy = false;
  s.idle = setTimeout(() => retire(s), IDLE_MS);
  s.idle.unref();
}

function retire(s: Slot): void {
  clearTimeout(s.idle);
  const i = slots.indexOf(s);
  if (i >= 0) slots.splice(i, 1);
  void s.w.terminate();
}

/** Kills a worker (overrun, crash) and hands a fresh one to the next waiting run. */
function kill(s: Slot): void {
  retire(s);
  const next = waiting.shift();
  if (next) next(spawn());
}

function runOn(s: Slot, code: string, timeoutMs: number, memoryMb: number): Promise<SandboxResult> {
  return new Promise((resolve) => {
    const id = ++seq;
    let settled = false;
    const done = (r: SandboxResult, killIt: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      s.w.off("message", onMessage);
      s.w.off("error", onError);
      s.w.off("exit", onExit);
      // A 'message' listener refs the worker; an idle one must not keep the process alive.
      s.w.unref();
      if (killIt) kill(s);
      else release(s);
      resolve(r);
    };
    const internal = (error: string, errorKind: SandboxErrorKind = "internal"): SandboxResult => ({
      ok: false,
      stdout: "",
      error,
      errorKind,
    });
    let timer = setTimeout(
      () => done(internal(`sandbox error: the worker did not start within ${START_MS / 1000} s`), true),
      START_MS,
    );
    const onMessage = (m: { id?: number; started?: boolean; result?: SandboxResult }) => {
      if (!m || m.id !== id) return;
      if (m.started) {
        clearTimeout(timer);
        timer = setTimeout(() => done(timeoutError(timeoutMs), true), timeoutMs + 250 + KILL_GRACE_MS);
        return;
      }
      const r = m.result;
      if (!r || typeof r.ok !== "boolean" || typeof r.stdout !== "string")
        return done(internal("malformed sandbox reply"), true);
      done(
        {
          ok: r.ok,
          stdout: r.stdout,
          value: typeof r.value === "string" ? r.value : undefined,
          error: typeof r.error === "string" ? r.error : undefined,
          ...(r.ok ? {} : { errorKind: r.errorKind ?? "internal" }),
        },
        false,
      );
    };
    const onError = (e: Error & { code?: string }) =>
      done(
        e.code === "ERR_WORKER_OUT_OF_MEMORY"
          ? internal(`killed: memory limit ${memoryMb} MiB exceeded`, "memory")
          : internal(`sandbox error: ${e.message}`),
        true,
      );
    const onExit = (c: number) => done(internal(`sandbox exited (code ${c})`), true);
    s.w.on("message", onMessage);
    s.w.on("error", onError);
    s.w.on("exit", onExit);
    s.w.postMessage({ id, code, opts: { timeoutMs, memoryMb } });
  });
}

/**
 * Runs untrusted JavaScript; resolves (never rejects, except for invalid input) with its console
 * output and completion value, or a typed error (errorKind) for time limit, memory limit, stack
 * overflow, syntax error, thrown exception or unsettled promise.
 */
export async function runSandboxed(code: string, opts: SandboxOptions = {}): Promise<SandboxResult> {
  if (typeof code !== "string") throw new InputError("code must be a string");
  if (code.length > MAX_CODE) throw new InputError(`code longer than ${MAX_CODE} characters`);
  const { timeoutMs, memoryMb } = resolveLimits(opts);
  const slot = await acquire();
  return runOn(slot, code, timeoutMs, memoryMb);
}

export function codeRunnerTool(opts: SandboxOptions = {}): Tool {
  return {
    definition: {
      type: "function",
      function: {
        name: "run_javascript",
        description:
          "Run JavaScript in a sandbox (no files, network or timers) and return console output and the value of the last expression.",
        parameters: {
          type: "object",
          properties: { code: { type: "string", description: "JavaScript source" } },
          required: ["code"],
          additionalProperties: false,
        },
      },
    },
    async run(args) {
      const r = await runSandboxed(String(args.code ?? ""), opts);
      const parts: string[] = [];
      if (r.stdout) parts.push(r.stdout);
      if (r.ok && r.value !== undefined && r.value !== "undefined") parts.push(`=> ${r.value}`);
      if (!r.ok) parts.push(`error: ${r.error}`);
      return parts.join("\n") || "(no output)";
    },
  };
}
