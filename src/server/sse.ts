/**
 * Server-sent events on a raw Node response: `data: <json>\n\n` per event, `data: [DONE]` at the
 * end, as OpenAI streams. Writes after the client has gone are dropped (the caller aborts).
 */
import type { ServerResponse } from "node:http";

export class SseWriter {
  private started = false;
  constructor(private readonly res: ServerResponse) {}

  get open(): boolean {
    return !this.res.destroyed && !this.res.writableEnded;
  }

  private start(): void {
    if (this.started) return;
    this.started = true;
    this.res.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache",
      connection: "keep-alive",
      "x-accel-buffering": "no",
    });
    this.res.flushHeaders();
  }

  send(data: unknown): void {
    if (!this.open) return;
    this.start();
    this.res.write(`data: ${JSON.stringify(data)}\n\n`);
  }

  /** Error after the stream began: OpenAI clients read an `error` object in a data event. */
  error(body: unknown): void {
    this.send(body);
  }

  end(): void {
    if (!this.open) return;
    this.start();
    this.res.write("data: [DONE]\n\n");
    this.res.end();
  }
}
