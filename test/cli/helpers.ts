/**
 * The compiled CLI in a child process, driven as a user would: `runCli` collects stdout and
 * stderr and never rejects (a timeout kills the process: `killed`); `execCli` rejects on a
 * non-zero exit (promisified execFile), for tests that only expect success.
 */
import { execFile, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

/** dist/src/cli/main.js, seen from dist/test/<folder>/. */
export const CLI_MAIN = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));

export interface CliResult {
  code: number | null;
  out: string;
  err: string;
  /** The timeout killed it. */
  killed: boolean;
}

export function runCli(
  args: string[],
  o: { stdin?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_MAIN, ...args], {
      stdio: [o.stdin === undefined ? "ignore" : "pipe", "pipe", "pipe"],
      env: o.env,
    });
    let out = "";
    let err = "";
    let killed = false;
    child.stdout!.setEncoding("utf8").on("data", (d: string) => (out += d));
    child.stderr!.setEncoding("utf8").on("data", (d: string) => (err += d));
    const t =
      o.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            killed = true;
            child.kill("SIGKILL");
          }, o.timeoutMs);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(t);
      resolve({ code, out, err, killed });
    });
    if (o.stdin !== undefined) child.stdin!.end(o.stdin);
  });
}

const exec = promisify(execFile);

/** Runs the CLI to success: {stdout, stderr}; rejects on a non-zero exit. */
export function execCli(args: string[], maxBuffer = 64 << 20): Promise<{ stdout: string; stderr: string }> {
  return exec(process.execPath, [CLI_MAIN, ...args], { maxBuffer });
}
