/** Architecture name -> test-model builder. The only place that maps names to builders. */
import { ModelError } from "../../../errors.js";
import { llama } from "./llama.js";
import type { FactoryArch } from "./plan.js";

export const FACTORY_ARCHS: ReadonlyMap<string, FactoryArch> = new Map([["llama", llama]]);

export function factoryArch(name: string): FactoryArch {
  const a = FACTORY_ARCHS.get(name);
  if (!a) {
    throw new ModelError(`test-model factory has no architecture '${name}'`, {
      field: "arch",
      hint: `known: ${[...FACTORY_ARCHS.keys()].join(", ")}`,
    });
  }
  return a;
}
