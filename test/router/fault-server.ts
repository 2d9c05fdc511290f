// A scripted HTTP server on 127.0.0.1 for the cloud client's failure paths (a fault injector, not
// a model: each request takes the next step of the script). The routing tests use a real
// `edgellm serve` as the cloud; this one only produces the 429/5xx/hang/stall answers that a real
// server cannot be made to give on demand.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export type Step =
  | { status: number; body?: unknown; headers?: Record<string, string> }
  | { hang: true }
  | { sse: string[]; gapMs?: number; stallAfter?: number };

export interface FaultServer {
  url: string;
  /** Bodies received, in order. */
  received: Record<string, unknown>[];
  headers: IncomingMessage["headers"][];
  close(): Promise<void>;
}

export function okCompletion(text: string, model = "fault-cloud"): unknown {
  return {
    id: "x",
    object: "chat.completion",
    created: 0,
    model,
    choices: [{ index: 0, message: { role: "assistant", content: text }, finish_reason: "stop" }],
    usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 },
  };
}

export async function startFaultServer(
  script: Step[],
  fallback: Step = { status: 500, body: { error: { message: "script exhausted" } } },
): Promise<FaultServer> {
  const received: Record<string, unknown>[] = [];
  const headers: IncomingMessage["headers"][] = [];
  const open = new Set<ServerResponse>();
  let i = 0;
  const server: Server = createServer((req, res) => {
    let raw = "";
    req.on("data", (d) => (raw += d));
    req.on("end", () => {
      try {
        received.push(JSON.parse(raw));
      } catch {
        received.push({ raw });
      }
      headers.push(req.headers);
      const step = script[i++] ?? fallback;
      if ("hang" in step) {
        open.add(res);
        return;
      }
      if ("sse" in step) {
        res.writeHead(200, { "content-type": "text/event-stream" });
        open.add(res);
        let k = 0;
        const next = () => {
          if (res.destroyed) return;
          if (step.stallAfter !== undefined && k >= step.stallAfter) return;
          if (k >= step.sse.length) return void res.end();
          res.write(`data: ${step.sse[k++]}\n\n`);
          setTimeout(next, step.gapMs ?? 1);
        };
        next();
        return;
      }
      res.writeHead(step.status, { "content-type": "application/json", ...step.headers });
      res.end(JSON.stringify(step.body ?? {}));
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    received,
    headers,
    async close() {
      for (const r of open) r.destroy();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
