/**
 * JavaScript code runner for untrusted code: a fresh worker thread per run (heap, young
 * generation, code range and stack limits via resourceLimits; empty env), evaluating the code in
 * a locked-down V8 context (see sandbox-worker.ts). The run is killed (worker.terminate) on
 * overrun: V8's own timeout covers synchronous loops, the host timer covers everything else.
 * Nothing of the host crosses in but the code string, nothing crosses out but a JSON string.
 */
import { Worker } from "node:worker_threads";
import { InputError } from "../../errors.js";
import type { Tool } from "../registry.js";

export interface SandboxOptions {
  /** Wall-clock limit in ms (default 2000). */
  timeoutMs?: number;
  /** Old-generation heap limit in MiB (default 64). */
  memoryMb?: number;
}

export interface SandboxResult {
  ok: boolean;
  /** console output, lines joined by "\n". */
  stdout: string;
  /** The completion value of the script, formatted (JSON where possible). */
  value?: string;
  error?: string;
}

const MAX_CODE = 100_000;

export function runSandboxed(code: string, opts: SandboxOptions = {}): Promise<SandboxResult> {
  if (typeof code !== "string") return Promise.reject(new InputError("code must be a string"));
  if (code.length > MAX_CODE)
    return Promise.reject(new InputError(`code longer than ${MAX_CODE} characters`));
  const timeoutMs = opts.timeoutMs ?? 2000;
  const memoryMb = opts.memoryMb ?? 64;
  return new Promise((resolve) => {
    let settled = false;
    const w = new Worker(new URL("./sandbox-worker.js", import.meta.url), {
      workerData: { code, timeoutMs },
      resourceLimits: {
        maxOldGenerationSizeMb: memoryMb,
        maxYoungGenerationSizeMb: 8,
        codeRangeSizeMb: 8,
        stackSizeMb: 2,
      },
      env: {},
      stdout: true,
      stderr: true,
    });
    const finish = (r: SandboxResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      void w.terminate();
      resolve(r);
    };
    // The hard kill counts from the worker's start ("online"), so a slow start-up on a loaded
    // machine is not charged to the code; a worker that never starts is given up after 15 s.
    let timer = setTimeout(
      () => finish({ ok: false, stdout: "", error: "sandbox error: the worker did not start within 15 s" }),
      15_000,
    );
    w.on("online", () => {
      clearTimeout(timer);
      timer = setTimeout(
        () => finish({ ok: false, stdout: "", error: `killed: time limit ${timeoutMs} ms exceeded` }),
        timeoutMs + 1000,
      );
    });
    w.on("message", (m: unknown) => {
      try {
        if (typeof m !== "string") throw new Error("not a string");
        const r = JSON.parse(m) as { stdout?: string; value?: string; error?: string };
        let error = r.error;
        if (error && /Script execution timed out/.test(error))
          error = `killed: time limit ${timeoutMs} ms exceeded`;
        finish({
          ok: error === undefined,
          stdout: String(r.stdout ?? ""),
          value: r.value === undefined ? undefined : String(r.value),
          error,
        });
      } catch {
        finish({ ok: false, stdout: "", error: "malformed sandbox reply" });
      }
    });
    w.on("error", (e: Error & { code?: string }) => {
      const oom = e.code === "ERR_WORKER_OUT_OF_MEMORY" || /out of memory|heap/i.test(e.message);
      finish({
        ok: false,
        stdout: "",
        error: oom ? `killed: memory limit ${memoryMb} MiB exceeded` : `sandbox error: ${e.message}`,
      });
    });
    w.on("exit", (c) => finish({ ok: false, stdout: "", error: `sandbox exited (code ${c})` }));
  });
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
