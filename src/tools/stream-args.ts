/**
 * Incremental tool-call deltas inside one tool-call section: the section's JSON call objects
 * (`{"name": ..., "arguments"|"parameters": {...}}`, one after another, separated by `,`/`;`/
 * whitespace, optionally inside one `[...]` as Mistral writes them) are scanned character by
 * character. As soon as a call's name is known and its arguments object has started, the call's
 * first delta (index, id, type, name) goes out, then every piece of the arguments text as it
 * arrives, as OpenAI streams them. Anything else (arguments given as a JSON string, text that is
 * not a call object) stops the scan; the caller then falls back to parsing the whole section.
 * Used only for constrained output, where the grammar guarantees the section parses.
 */
import { newToolCallId, type ToolCallDelta } from "./types.js";

type Where = "between" | "key" | "colon" | "value" | "after";

export class CallScanner {
  private text = "";
  private i = 0;
  /** Nesting depth: 0 between calls, 1 inside a call object's top level. */
  private depth = 0;
  private inStr = false;
  private esc = false;
  private strStart = -1;
  private where: Where = "between";
  private key: string | undefined;
  private name: string | undefined;
  private argsStart = -1;
  private argsEnd = -1;
  private sent = -1; // arguments text sent up to here (index into text)
  private openedList = false;
  /** Calls whose first delta went out, and whether the last one's arguments are complete. */
  streamed = 0;
  lastComplete = true;
  /** The scan stopped on something that is not a call object. */
  stopped = false;

  constructor(private readonly baseIndex: number) {}

  /** Feed section text; returns the deltas it completes. */
  push(chunk: string): ToolCallDelta[] {
    const out: ToolCallDelta[] = [];
    if (this.stopped) return out;
    this.text += chunk;
    const t = this.text;
    for (; this.i < t.length && !this.stopped; this.i++) this.step(t[this.i], out);
    this.flushArgs(out);
    return out;
  }

  /** Arguments text not sent yet (also mid-string: the client concatenates the pieces). */
  private flushArgs(out: ToolCallDelta[]): void {
    if (this.sent < 0) return;
    const end = this.argsEnd >= 0 ? this.argsEnd : this.i;
    if (end > this.sent) {
      out.push({
        index: this.baseIndex + this.streamed - 1,
        function: { arguments: this.text.slice(this.sent, end) },
      });
      this.sent = end;
    }
  }

  private step(c: string, out: ToolCallDelta[]): void {
    if (this.inStr) {
      if (this.esc) this.esc = false;
      else if (c === "\\") this.esc = true;
      else if (c === '"') {
        this.inStr = false;
        if (this.depth === 1)
          this.topString(JSON.parse(this.text.slice(this.strStart, this.i + 1)) as string, out);
      }
      return;
    }
    const ws = c === " " || c === "\n" || c === "\t" || c === "\r";
    if (this.depth === 0) {
      if (ws || (this.streamed > 0 && (c === "," || c === ";"))) return;
      if (c === "[" && !this.openedList && this.streamed === 0) {
        this.openedList = true;
        return;
      }
      if (c === "]" && this.openedList) return;
      if (c !== "{") return this.stop();
      this.depth = 1;
      this.where = "key";
      this.key = this.name = undefined;
      this.argsStart = this.argsEnd = this.sent = -1;
      return;
    }
    if (c === '"') {
      this.inStr = true;
      this.esc = false;
      this.strStart = this.i;
      if (this.depth === 1 && this.where === "value" && this.isArgsKey()) this.stop(); // arguments as a JSON string
      return;
    }
    if (this.depth === 1) {
      if (ws) return;
      if (c === ":" && this.where === "colon") this.where = "value";
      else if (c === "," && this.where === "after") this.where = "key";
      else if (c === "}" && (this.where === "after" || this.where === "key")) this.closeCall(out);
      else if ((c === "{" || c === "[") && this.where === "value") {
        if (this.isArgsKey() && c === "{") {
          this.argsStart = this.i;
          this.maybeStart(out);
        }
        this.depth++;
      } else if (this.where === "value" && /[0-9tfn-]/.test(c))
        this.where = "after"; // a scalar value
      else if (!(this.where === "after" && /[0-9a-z.+-]/i.test(c))) this.stop();
      return;
    }
    if (c === "{" || c === "[") this.depth++;
    else if (c === "}" || c === "]") {
      this.depth--;
      if (this.depth === 1) {
        this.where = "after";
        if (this.argsStart >= 0 && this.argsEnd < 0 && this.isArgsKey()) this.argsEnd = this.i + 1;
      }
    }
  }

  private isArgsKey(): boolean {
    return this.key === "arguments" || this.key === "parameters";
  }

  /** A string at the call object's top level: a key, or the name's value. */
  private topString(s: string, out: ToolCallDelta[]): void {
    if (this.where === "key") {
      this.key = s;
      this.where = "colon";
    } else if (this.where === "value") {
      this.where = "after";
      if (this.key === "name") {
        this.name = s;
        this.maybeStart(out);
      }
    }
  }

  /** The first delta once both the name and the arguments' start are known. */
  private maybeStart(out: ToolCallDelta[]): void {
    if (this.name === undefined || this.argsStart < 0 || this.sent >= 0) return;
    out.push({
      index: this.baseIndex + this.streamed,
      id: newToolCallId(),
      type: "function",
      function: { name: this.name, arguments: "" },
    });
    this.streamed++;
    this.lastComplete = false;
    this.sent = this.argsStart;
  }

  private closeCall(out: ToolCallDelta[]): void {
    if (this.sent < 0) return this.stop(); // not a call object (no name or no arguments object)
    this.flushArgs(out);
    this.lastComplete = this.argsEnd >= 0;
    this.sent = -1;
    this.depth = 0;
    this.where = "between";
  }

  private stop(): void {
    this.stopped = true;
  }
}
