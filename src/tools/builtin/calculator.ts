/**
 * Calculator tool: the expression evaluator of src/verify/expression.ts in its calculator dialect
 * (+ - * / % ^ **, parentheses, sqrt sin cos tan ln log exp floor ceil round min max pow hypot,
 * pi e tau; no eval). Results must be finite; anything else is an InputError the model reads.
 */
import { evaluateStrict } from "../../verify/expression.js";
import type { Tool } from "../registry.js";

/** Value of a calculator expression, or an InputError. */
export function evaluate(src: string): number {
  return evaluateStrict(src, "calculator");
}

export const calculatorTool: Tool = {
  definition: {
    type: "function",
    function: {
      name: "calculator",
      description:
        "Evaluate an arithmetic expression (+ - * / % ^, parentheses, sqrt, sin, cos, ln, log, exp, min, max, pi, e).",
      parameters: {
        type: "object",
        properties: { expression: { type: "string", description: "e.g. (2 + 3) * sqrt(16)" } },
        required: ["expression"],
        additionalProperties: false,
      },
    },
  },
  async run(args) {
    return String(evaluate(String(args.expression ?? "")));
  },
};
