/**
 * Streaming tool-call parser: feed decoded text chunks, get content deltas and OpenAI-style
 * tool_call deltas (first delta of a call: index, id, type, function.name and arguments "";
 * then function.arguments). Content is emitted as soon as it cannot be the start of a tool-call
 * marker (a suffix that could begin one is held back). A tool-call section is buffered until its
 * end marker (or the end of the stream for formats without one) and then parsed with the
 * full-text parser, so streamed and non-streamed results are identical.
 *
 * With `incremental` (for constrained output, where the grammar guarantees the section parses)
 * a call's arguments stream piece by piece as they are generated, as OpenAI sends them
 * (stream-args.ts); the whole-section parse at its end then only adds calls the scan could not
 * stream. Arguments are then the model's own JSON text rather than a re-serialisation.
 */
import { FORMATS, type ToolFormat, type ToolFormatName } from "./formats.js";
import { parseToolCalls } from "./parse.js";
import { CallScanner } from "./stream-args.js";
import type { StreamEvents, ToolCallDelta } from "./types.js";

export interface ToolCallStreamParser {
  push(chunk: string): StreamEvents;
  /** Flush at the end of generation. */
  end(): StreamEvents;
  /** A call's arguments were streamed in part and the output ended before the call did. */
  readonly truncatedCall: boolean;
}

/** Length of the longest suffix of `s` that is a proper prefix of `marker`. */
function heldBack(s: string, marker: string): number {
  for (let n = Math.min(marker.length - 1, s.length); n > 0; n--)
    if (marker.startsWith(s.slice(s.length - n))) return n;
  return 0;
}

export function createToolCallStreamParser(
  format: ToolFormat | ToolFormatName,
  opts: { incremental?: boolean } = {},
): ToolCallStreamParser {
  const f = typeof format === "string" ? { ...FORMATS[format], nativeTools: true } : format;
  let buf = ""; // text not yet emitted
  let inCall = false;
  let sawText = false; // any non-whitespace content emitted (llama3 bare-JSON calls must come first)
  let index = 0;
  // Incremental mode: the scanner of the open section and how much of buf it has seen.
  let scanner: CallScanner | undefined;
  let fed = 0;
  let truncated = false;
  const incremental = opts.incremental === true && f.name !== "deepseek";

  const openSection = (markerLen: number) => {
    inCall = true;
    if (incremental) {
      scanner = new CallScanner(index);
      fed = markerLen;
    }
  };
  const feed = (upTo: number, out: ToolCallDelta[]) => {
    if (!scanner || upTo <= fed) return;
    out.push(...scanner.push(buf.slice(fed, upTo)));
    fed = upTo;
  };

  const emitCalls = (section: string, out: ToolCallDelta[]): string => {
    const parsed = parseToolCalls(section, f.name);
    const streamed = scanner?.streamed ?? 0;
    if (scanner) {
      index += streamed;
      truncated = streamed > 0 && !scanner.lastComplete;
      scanner = undefined;
    }
    // Calls the scan already streamed are not sent again; the rest go out whole.
    for (const c of parsed.toolCalls.slice(streamed)) {
      out.push({ index, id: c.id, type: "function", function: { name: c.function.name, arguments: "" } });
      out.push({ index, function: { arguments: c.function.arguments } });
      index++;
    }
    return streamed > 0 ? "" : parsed.content;
  };

  const step = (final: boolean): StreamEvents => {
    let content = "";
    const calls: ToolCallDelta[] = [];
    for (;;) {
      if (!inCall) {
        // llama3 without <|python_tag|>: a reply that starts with '{' is a call.
        if (f.name === "llama3" && !sawText && /^\s*\{/.test(buf)) {
          openSection(0);
          continue;
        }
        const s = buf.indexOf(f.start);
        if (s >= 0) {
          content += buf.slice(0, s);
          buf = buf.slice(s);
          openSection(f.start.length);
          continue;
        }
        const keep = final
          ? 0
          : Math.max(
              heldBack(buf, f.start),
              f.name === "llama3" && !sawText && /^\s*$/.test(buf) ? buf.length : 0,
            );
        content += buf.slice(0, buf.length - keep);
        buf = buf.slice(buf.length - keep);
        break;
      }
      // In a tool-call section: wait for its end marker (or the end of the stream).
      if (f.end !== undefined) {
        const e = buf.indexOf(f.end);
        if (e >= 0) {
          feed(e, calls);
          content += emitCalls(buf.slice(0, e + f.end.length), calls);
          buf = buf.slice(e + f.end.length);
          inCall = false;
          continue;
        }
      }
      feed(buf.length, calls);
      if (final) {
        content += emitCalls(buf, calls);
        buf = "";
        inCall = false;
      }
      break;
    }
    if (/\S/.test(content)) sawText = true;
    return { content, toolCalls: calls };
  };

  return {
    push(chunk: string): StreamEvents {
      buf += chunk;
      return step(false);
    },
    end(): StreamEvents {
      return step(true);
    },
    get truncatedCall() {
      return truncated;
    },
  };
}
