/**
 * LoRA adapters at runtime (llama-server's /lora-adapters, extended with load/unload):
 *
 *   GET  /lora-adapters                  -> [{id, index, path, scale, alpha, tensors, bytes, types}]
 *   POST /lora-adapters  [{id, scale}]   -> set default scales (llama-server's shape; id = name or index)
 *   POST /lora-adapters  {"load": {"path", "id"?, "scale"?}}  -> load a file from the server's --lora-dir
 *   POST /lora-adapters  {"unload": id}  -> drop an adapter for new requests (running ones finish)
 *
 * Every answer is the list after the change. Private like every route (auth.ts): it names files on
 * the server and changes what every request gets. Loading reads only regular files under
 * `loraDir` (resolved real path inside the real folder); without a loraDir it is refused.
 */
import { realpathSync, statSync } from "node:fs";
import { isAbsolute, join, relative, sep } from "node:path";
import type { FastifyInstance } from "fastify";
import type { ServerContext } from "../context.js";
import { GGUFError, ModelError } from "../../errors.js";
import { ApiError, badRequest } from "../openai/errors.js";
import * as z from "zod";
import { firstIssue, isObj } from "../../json.js";

const ADAPTER_REF = z.union([z.string(), z.number()]);
const SCALES = z.array(
  z.object(
    { id: ADAPTER_REF, scale: z.number().refine(Number.isFinite) },
    {
      error: 'must be {"id": name or index, "scale": number}',
    },
  ),
  { error: 'must be {"id": name or index, "scale": number}' },
);
const UNLOAD = z.union([z.string(), z.number()], { error: "must be an adapter id or index" });
const LOAD = z.object({
  path: z.unknown(),
  id: z.string({ error: "must be a string" }).optional(),
  scale: z.number({ error: "must be a number" }).refine(Number.isFinite, "must be a number").optional(),
});

/** A schema's result, or a 400 naming the path under `param` (lora[2].scale, load.scale). */
function parse<T>(schema: z.ZodType<T>, v: unknown, param: string): T {
  const r = schema.safeParse(v);
  if (r.success) return r.data;
  const { path, message } = firstIssue(r.error);
  const p = path === "" ? param : path.startsWith("[") ? `${param}${path}` : `${param}.${path}`;
  throw badRequest(`'${p}' ${message}`, p, "invalid_type");
}

/** The real path of `rel` inside `dir`, or an ApiError. */
function insideDir(dir: string, rel: unknown): string {
  if (typeof rel !== "string" || rel.length === 0 || rel.length > 1024 || rel.includes("\0"))
    throw badRequest(
      "'load.path' must be a file name relative to the server's LoRA folder",
      "load.path",
      "invalid_type",
    );
  if (isAbsolute(rel))
    throw badRequest("'load.path' must be relative to the server's LoRA folder", "load.path");
  let real: string;
  let root: string;
  try {
    root = realpathSync(dir);
    real = realpathSync(join(root, rel));
  } catch {
    throw new ApiError(
      404,
      `no adapter file '${rel}' in the LoRA folder`,
      "invalid_request_error",
      "load.path",
      "not_found",
    );
  }
  const r = relative(root, real);
  if (r === "" || r.startsWith("..") || isAbsolute(r) || r.split(sep).includes(".."))
    throw badRequest(`'${rel}' is outside the LoRA folder`, "load.path");
  if (!statSync(real).isFile()) throw badRequest(`'${rel}' is not a regular file`, "load.path");
  return real;
}

export function registerLora(app: FastifyInstance, ctx: ServerContext, loraDir: string | undefined): void {
  const list = () => ctx.llm.lora.list().map((a, index) => ({ ...a, index }));
  app.get("/lora-adapters", async () => list());
  app.post("/lora-adapters", async (request) => {
    const body = request.body;
    const reg = ctx.llm.lora;
    if (Array.isArray(body)) {
      // Validate all before changing any.
      const sets = parse(SCALES, body, "lora").map((e) => ({ id: reg.idOf(e.id), scale: e.scale }));
      for (const s of sets) if (!reg.info(s.id)) throw badRequest(`unknown lora adapter '${s.id}'`, "id");
      for (const s of sets) reg.setScale(s.id, s.scale);
      return list();
    }
    if (isObj(body) && body.unload !== undefined) {
      const id = reg.idOf(parse(UNLOAD, body.unload, "unload"));
      if (!reg.unload(id)) throw badRequest(`unknown lora adapter '${id}'`, "unload");
      return list();
    }
    if (isObj(body) && isObj(body.load)) {
      if (!loraDir)
        throw new ApiError(
          403,
          "loading adapters over HTTP is off: start the server with --lora-dir",
          "invalid_request_error",
          "load",
          "lora_load_disabled",
        );
      const l = parse(LOAD, body.load, "load");
      const path = insideDir(loraDir, l.path);
      try {
        await reg.load({ path, id: l.id, scale: l.scale });
      } catch (e) {
        // A file that is no adapter for this model is the caller's mistake: 400 naming the key/tensor.
        if (e instanceof ModelError || e instanceof GGUFError)
          throw badRequest(e.message, e.context.field ?? "load.path", "invalid_adapter");
        throw e;
      }
      return list();
    }
    throw badRequest(
      'the body must be [{id, scale}], {"load": {path, id?, scale?}} or {"unload": id}',
      null,
      "invalid_type",
    );
  });
}
