/**
 * Seeded random JSON Schemas for property tests: nested objects/arrays, enums, consts, formats,
 * bounded integers/numbers, nullable/anyOf, $refs. Strings and arrays are length-bounded so a
 * random sampler finishes in a few dozen tokens.
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomSchema(rnd: () => number, depth = 0): Record<string, unknown> {
  const pick = <T>(xs: T[]): T => xs[Math.floor(rnd() * xs.length)];
  const int = (lo: number, hi: number) => lo + Math.floor(rnd() * (hi - lo + 1));
  const kinds =
    depth >= 2
      ? ["string", "integer", "number", "boolean", "enum", "const", "format", "null"]
      : [
          "object",
          "object",
          "array",
          "string",
          "integer",
          "number",
          "boolean",
          "enum",
          "anyOf",
          "nullable",
          "format",
        ];
  switch (pick(kinds)) {
    case "object": {
      const n = int(0, 4);
      const properties: Record<string, unknown> = {};
      const names = ["id", "name", "tags", "value", "é-ключ", "nested", "a b", 'q"uote'];
      for (let i = 0; i < n; i++)
        properties[names[(i * 3 + int(0, 7)) % names.length] + i] = randomSchema(rnd, depth + 1);
      const required = Object.keys(properties).filter(() => rnd() < 0.5);
      return { type: "object", properties, required, additionalProperties: false };
    }
    case "array": {
      const min = int(0, 2);
      return { type: "array", items: randomSchema(rnd, depth + 1), minItems: min, maxItems: min + int(0, 2) };
    }
    case "string": {
      const min = int(0, 3);
      return { type: "string", minLength: min, maxLength: min + int(0, 8) };
    }
    case "integer": {
      const r = rnd();
      if (r < 0.3) return { type: "integer" };
      const lo = int(-500, 500);
      return r < 0.6
        ? { type: "integer", minimum: lo, maximum: lo + int(0, 2000) }
        : { type: "integer", exclusiveMinimum: lo };
    }
    case "number":
      return rnd() < 0.5
        ? { type: "number" }
        : { type: "number", minimum: int(-10, 10) + 0.5, maximum: int(20, 30) };
    case "boolean":
      return { type: "boolean" };
    case "null":
      return { type: "null" };
    case "enum":
      return {
        enum: ["red", "green", 3, null, true, { x: [1, "é"] }].filter(() => rnd() < 0.6).concat(["fallback"]),
      };
    case "const":
      return { const: pick(["fixed", 42, false, ["a", { b: null }]]) };
    case "format":
      return { type: "string", format: pick(["date", "time", "date-time", "uuid"]) };
    case "anyOf":
      return { anyOf: [randomSchema(rnd, depth + 1), randomSchema(rnd, depth + 1)] };
    case "nullable":
      return { type: ["integer", "null"], minimum: 0, maximum: 9 };
    default:
      throw new Error("unreachable");
  }
}
