/**
 * Separate reasoning from answer, as DeepSeek's and vLLM's `reasoning_content` do.
 *   splitReasoning(text)     whole text -> { reasoning, content }
 *   ReasoningSplitter        streaming: text deltas in, { reasoning, content } deltas out; a
 *                            possible partial tag at the end of a delta is held back until the
 *                            next delta decides it
 * When the prompt already opened the block (`startsInThinking`), text is reasoning until
 * `</think>`. Text before a `<think>` that comes later is content (rare; kept, not dropped).
 */
const OPEN = "<think>";
const CLOSE = "</think>";

export interface ReasoningParts {
  reasoning: string;
  content: string;
}

export function splitReasoning(text: string, startsInThinking = false): ReasoningParts {
  const s = new ReasoningSplitter(startsInThinking);
  const a = s.push(text);
  const b = s.flush();
  return { reasoning: a.reasoning + b.reasoning, content: (a.content + b.content).replace(/^\s+/, "") };
}

/** Longest suffix of `s` that is a proper prefix of `tag`. */
function partialTagSuffix(s: string, tag: string): number {
  for (let n = Math.min(tag.length - 1, s.length); n > 0; n--) if (s.endsWith(tag.slice(0, n))) return n;
  return 0;
}

export class ReasoningSplitter {
  private state: "before" | "thinking" | "answer";
  private held = "";
  /** Content right after `</think>`: its leading newlines are dropped. */
  private answerStarted = false;

  constructor(startsInThinking = false) {
    this.state = startsInThinking ? "thinking" : "before";
  }

  get thinking(): boolean {
    return this.state === "thinking";
  }

  push(delta: string): ReasoningParts {
    let s = this.held + delta;
    this.held = "";
    const out: ReasoningParts = { reasoning: "", content: "" };
    for (;;) {
      if (this.state === "answer") {
        out.content += s;
        break;
      }
      const tag = this.state === "before" ? OPEN : CLOSE;
      const i = s.indexOf(tag);
      if (i >= 0) {
        this.emit(out, s.slice(0, i));
        s = s.slice(i + tag.length);
        this.state = this.state === "before" ? "thinking" : "answer";
        if (this.state === "answer") s = s.replace(/^\s+/, "");
        if (this.state === "answer" && s === "") this.answerStarted = false;
        continue;
      }
      const keep = partialTagSuffix(s, tag);
      this.emit(out, s.slice(0, s.length - keep));
      this.held = s.slice(s.length - keep);
      break;
    }
    if (this.state === "answer" && !this.answerStarted) {
      out.content = out.content.replace(/^\s+/, "");
      if (out.content !== "") this.answerStarted = true;
    }
    return out;
  }

  /** End of stream: release what was held. */
  flush(): ReasoningParts {
    const out: ReasoningParts = { reasoning: "", content: "" };
    this.emit(out, this.held);
    this.held = "";
    return out;
  }

  private emit(out: ReasoningParts, s: string): void {
    if (this.state === "thinking") out.reasoning += s;
    else out.content += s;
  }
}
