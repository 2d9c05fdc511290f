/**
 * Executable tools: an OpenAI definition plus a function from parsed arguments to a result text
 * (what goes back to the model as the `role: "tool"` message). A ToolSet looks tools up by name
 * and turns every failure into an error result the model can read, never a thrown exception.
 */
import { InputError } from "../errors.js";
import { validateTools } from "./prompt.js";
import type { ToolCall, ToolDefinition } from "./types.js";

export interface Tool {
  definition: ToolDefinition;
  run(args: Record<string, unknown>, signal?: AbortSignal): Promise<string>;
}

export class ToolSet {
  private readonly byName = new Map<string, Tool>();

  constructor(tools: Tool[] = []) {
    for (const t of tools) this.add(t);
  }

  add(t: Tool): void {
    validateTools([t.definition]);
    const name = t.definition.function.name;
    if (this.byName.has(name)) throw new InputError(`duplicate tool name '${name}'`);
    this.byName.set(name, t);
  }

  get definitions(): ToolDefinition[] {
    return [...this.byName.values()].map((t) => t.definition);
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  /** Run one call; errors become a result text starting with "error:". */
  async call(c: ToolCall, signal?: AbortSignal): Promise<string> {
    const t = this.byName.get(c.function.name);
    if (!t) return `error: unknown tool '${c.function.name}'`;
    let args: unknown;
    try {
      args = c.function.arguments.trim() === "" ? {} : JSON.parse(c.function.arguments);
    } catch {
      return "error: arguments are not valid JSON";
    }
    if (typeof args !== "object" || args === null || Array.isArray(args))
      return "error: arguments must be a JSON object";
    try {
      return await t.run(args as Record<string, unknown>, signal);
    } catch (e) {
      return `error: ${(e as Error).message}`;
    }
  }
}
