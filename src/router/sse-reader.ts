/**
 * Reads a server-sent-events body (as OpenAI-compatible servers stream chat chunks) into its
 * `data:` payloads, one per event; multi-line data fields are joined with "\n" (per the SSE
 * spec), comments (":" lines) and other fields are skipped. Yields the raw payload strings,
 * including the final "[DONE]". `idleMs` bounds the wait for each read, so a stalled stream fails
 * instead of hanging.
 */

export class SseIdleTimeout extends Error {}

export async function* readSseData(
  body: ReadableStream<Uint8Array>,
  idleMs: number,
  signal?: AbortSignal,
): AsyncGenerator<string> {
  const reader = body.getReader();
  const dec = new TextDecoder();
  let buf = "";
  let data: string[] = [];
  try {
    for (;;) {
      const { value, done } = await readWithTimeout(reader, idleMs, signal);
      if (done) break;
      buf += dec.decode(value, { stream: true });
      let nl: number;
      while ((nl = buf.indexOf("\n")) >= 0) {
        let line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line.endsWith("\r")) line = line.slice(0, -1);
        if (line === "") {
          if (data.length > 0) yield data.join("\n");
          data = [];
        } else if (line.startsWith("data:")) {
          data.push(line.slice(line[5] === " " ? 6 : 5));
        }
      }
    }
    if (data.length > 0) yield data.join("\n");
  } finally {
    reader.cancel().catch(() => {});
  }
}

function readWithTimeout(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  ms: number,
  signal?: AbortSignal,
): Promise<ReadableStreamReadResult<Uint8Array>> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new SseIdleTimeout(`no stream data for ${ms} ms`)), ms);
    const onAbort = () => reject(signal!.reason ?? new Error("aborted"));
    signal?.addEventListener("abort", onAbort, { once: true });
    reader.read().then(
      (r) => {
        clearTimeout(t);
        signal?.removeEventListener("abort", onAbort);
        resolve(r);
      },
      (e) => {
        clearTimeout(t);
        signal?.removeEventListener("abort", onAbort);
        reject(e);
      },
    );
  });
}
