/**
 * Node worker thread that hosts the QuickJS sandbox engine (sandbox-engine.ts) for sandbox.ts.
 * It loads the wasm module once and serves runs one at a time: {id, code, opts} in,
 * {id, result} out, plus {id, started} when a run begins so the host's kill timer does not
 * count the wait for the module to load. Nothing but these plain messages crosses the boundary.
 */
import { parentPort } from "node:worker_threads";
import { runInQuickJS, type SandboxOptions } from "./sandbox-engine.js";

interface Job {
  id: number;
  code: string;
  opts: SandboxOptions;
}

parentPort!.on("message", (job: Job) => {
  const started = () => parentPort!.postMessage({ id: job.id, started: true });
  void runInQuickJS(String(job.code), job.opts, started).then(
    (result) => parentPort!.postMessage({ id: job.id, result }),
    (e: unknown) =>
      parentPort!.postMessage({
        id: job.id,
        result: {
          ok: false,
          stdout: "",
          error: `sandbox error: ${(e as Error)?.message ?? e}`,
          errorKind: "internal",
        },
      }),
  );
});
