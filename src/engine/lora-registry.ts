/**
 * The adapters an LLM has loaded, by id, each with a default scale (llama-server's model: adapters
 * loaded at start-up apply to every request at their scale unless a request names its own list;
 * scale 0 = loaded but off). A request's `[{id, scale}]` resolves here to LoraRefs; an unknown id is
 * an InputError naming it (HTTP 400). Unloading drops the adapter for new requests; sequences
 * already running keep their references to it until they finish.
 */
import { InputError } from "../errors.js";
import type { GGUFInput } from "../gguf/byte-source.js";
import { loadLoraAdapter, type Transformer } from "../model/index.js";
import { loraTypes, type LoraAdapter, type LoraRef } from "../model/lora.js";

export interface LoraSpec {
  path: GGUFInput;
  /** Default: the file name without .gguf (then -2, -3... if taken). */
  id?: string;
  /** Default scale for requests that name no adapters (default 1). */
  scale?: number;
}

/** What a request asks for: an adapter id and a scale (default: the adapter's default scale). */
export interface LoraRequest {
  id: string;
  scale?: number;
}

export interface LoraInfo {
  id: string;
  path: string;
  scale: number;
  alpha: number;
  tensors: number;
  bytes: number;
  types: string[];
}

const ID_RE = /^[A-Za-z0-9._:-]{1,128}$/;

export class LoraRegistry {
  private readonly byId = new Map<string, { adapter: LoraAdapter; scale: number }>();

  constructor(private readonly model: Transformer) {}

  async load(spec: LoraSpec): Promise<LoraInfo> {
    const scale = spec.scale ?? 1;
    if (!Number.isFinite(scale))
      throw new InputError(`lora scale must be a finite number, got ${scale}`, { field: "scale" });
    let id = spec.id;
    if (id === undefined) {
      const base =
        typeof spec.path === "string"
          ? spec.path
              .split(/[\\/]/)
              .pop()!
              .replace(/\.gguf$/i, "")
          : "adapter";
      id = base;
      for (let i = 2; this.byId.has(id); i++) id = `${base}-${i}`;
    }
    if (!ID_RE.test(id))
      throw new InputError(`lora id '${id}' must be 1-128 of [A-Za-z0-9._:-]`, { field: "id" });
    if (this.byId.has(id))
      throw new InputError(`lora id '${id}' is already loaded`, {
        field: "id",
        hint: "unload it first or pick another id",
      });
    const adapter = await loadLoraAdapter(spec.path, this.model, id);
    this.byId.set(id, { adapter, scale });
    return this.info(id)!;
  }

  unload(id: string): boolean {
    return this.byId.delete(id);
  }

  /** Change an adapter's default scale. */
  setScale(id: string, scale: number): void {
    const e = this.byId.get(id);
    if (!e) throw new InputError(`unknown lora adapter '${id}'`, { field: "lora" });
    if (!Number.isFinite(scale))
      throw new InputError(`lora scale must be a finite number, got ${scale}`, { field: "scale" });
    e.scale = scale;
  }

  info(id: string): LoraInfo | undefined {
    const e = this.byId.get(id);
    if (!e) return undefined;
    const a = e.adapter;
    return {
      id,
      path: a.path,
      scale: e.scale,
      alpha: a.alpha,
      tensors: a.tensors.size,
      bytes: a.bytes,
      types: loraTypes(a),
    };
  }

  list(): LoraInfo[] {
    return [...this.byId.keys()].map((id) => this.info(id)!);
  }

  /** A request's id: a name, or an index into list() (llama-server's numeric ids). */
  idOf(id: string | number): string {
    if (typeof id === "string") return id;
    const ids = [...this.byId.keys()];
    if (!(Number.isInteger(id) && id >= 0 && id < ids.length))
      throw new InputError(`unknown lora adapter ${id} (${ids.length} loaded)`, { field: "lora" });
    return ids[id];
  }

  /** Bytes of every loaded adapter's A/B (memory accounting). */
  get bytes(): number {
    let n = 0;
    for (const e of this.byId.values()) n += e.adapter.bytes;
    return n;
  }

  /**
   * A request's adapters: `req` undefined = every loaded adapter at its default scale (those at 0
   * left out); otherwise exactly the listed ones (scale 0 entries dropped). Unknown id -> InputError.
   */
  resolve(req: readonly LoraRequest[] | undefined): LoraRef[] {
    if (req === undefined) {
      return [...this.byId.values()]
        .filter((e) => e.scale !== 0)
        .map((e) => ({ adapter: e.adapter, scale: e.scale }));
    }
    const out: LoraRef[] = [];
    const seen = new Set<string>();
    for (const r of req) {
      const e = this.byId.get(r.id);
      if (!e)
        throw new InputError(`unknown lora adapter '${r.id}'`, {
          field: "lora",
          hint: "GET /lora-adapters lists the loaded ones",
        });
      if (seen.has(r.id)) throw new InputError(`lora adapter '${r.id}' given twice`, { field: "lora" });
      seen.add(r.id);
      const scale = r.scale ?? e.scale;
      if (typeof scale !== "number" || !Number.isFinite(scale))
        throw new InputError(`lora scale for '${r.id}' must be a finite number`, { field: "lora" });
      if (scale !== 0) out.push({ adapter: e.adapter, scale });
    }
    return out;
  }
}
