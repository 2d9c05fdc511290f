// Starts a real `edgellm serve` child process on a factory model and port 0; resolves its URL.
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

const MAIN = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));

export interface Served {
  url: string;
  proc: ChildProcess;
  exited: Promise<number | null>;
  stop(): Promise<number | null>;
}

export async function startServe(model: string, args: string[]): Promise<Served> {
  const proc = spawn(process.execPath, [MAIN, "serve", "-m", model, "--port", "0", ...args], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  const exited = new Promise<number | null>((r) => proc.on("exit", (code) => r(code)));
  let err = "";
  proc.stderr!.on("data", (d) => (err += d));
  const url = await new Promise<string>((resolve, reject) => {
    let out = "";
    const t = setTimeout(() => reject(new Error(`serve did not start: ${err}`)), 60000); // a loaded CI machine can take 20 s
    proc.stdout!.on("data", (d) => {
      out += d;
      const m = /on (http:\/\/[^\s/]+)\/v1/.exec(out);
      if (m) {
        clearTimeout(t);
        resolve(m[1]);
      }
    });
    void exited.then((c) => reject(new Error(`serve exited ${c}: ${err}`)));
  });
  return {
    url,
    proc,
    exited,
    async stop() {
      if (proc.exitCode === null) proc.kill("SIGTERM");
      return exited;
    },
  };
}

/** Read an SSE body into its `data:` payloads (raw reader, no client library). */
export async function readSse(
  res: Response,
  onEvent?: (data: string, n: number) => boolean | undefined,
): Promise<string[]> {
  const reader = res.body!.getReader();
  const dec = new TextDecoder();
  let buf = "";
  const events: string[] = [];
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += dec.decode(value, { stream: true });
    let i: number;
    while ((i = buf.indexOf("\n\n")) >= 0) {
      const block = buf.slice(0, i);
      buf = buf.slice(i + 2);
      for (const line of block.split("\n")) {
        if (!line.startsWith("data: ")) continue;
        events.push(line.slice(6));
        if (onEvent?.(line.slice(6), events.length) === true) {
          await reader.cancel();
          return events;
        }
      }
    }
  }
  return events;
}
