/**
 * Soak test for `edgellm serve` (issue 14): a real server child process on 127.0.0.1 (the embedded
 * default model, behind an API key), 16 concurrent streaming clients for 10 minutes — half through
 * the official `openai` client, half through raw fetch + an SSE reader — each running chat and
 * completions streams back to back, and going away mid-stream at random (abort after a few tokens
 * or a few milliseconds). Every 10 s: the server's RSS (/proc/PID/status), and running, waiting
 * and KV usage from /metrics.
 *
 * Asserted at the end: RSS at the end <= RSS at 2 minutes + 5%, each side read as the highest
 * sample under load in the minute up to that time (one 10 s sample lands anywhere in V8's ±15%
 * heap swings; both sides are read alike, and the single samples are printed too); running = 0,
 * waiting = 0 and KV usage = 0 once the clients stop; 0 errors (a non-200, a stream error event, a
 * stream that ends without its finish_reason and [DONE], any exception that is not our own abort).
 *
 * With --live-heap, the live heap (heap used right after a forced full GC) at 2 minutes and idle at
 * the end is compared instead (+10%), for runs too short for RSS to settle.
 *
 *   node dist/test/security/soak.js [--minutes 10] [--clients 16] [--seed 1] [--sample-s 10] [--live-heap]
 *   (env SOAK_MINUTES, SOAK_CLIENTS, SOAK_SEED)
 */
import OpenAI from "openai";
import { pathToFileURL } from "node:url";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FuzzRng, startServer, type ServerConfig, type ServerHandle } from "./http-fuzz.js";

export interface SoakOptions {
  durationMs: number;
  clients?: number;
  seed?: number;
  sampleEveryMs?: number;
  /** RSS baseline time (default 2 minutes, or a third of a shorter run). */
  baselineAtMs?: number;
  /** Window over which each side of the RSS comparison takes its highest sample (default 1 min). */
  rssWindowMs?: number;
  /** Allowed RSS growth from the baseline to the end (default 0.05). */
  rssTolerance?: number;
  /**
   * Assert the RSS bound (default: when the live heap is not measured — writing a heap snapshot
   * leaves the process ~100 MB larger, so the two do not mix).
   */
  checkRss?: boolean;
  /**
   * Also measure the live heap — V8's heap used plus external memory (ArrayBuffers) right after a
   * full collection, forced by a heap
   * snapshot that the server writes on SIGUSR2 (`--heapsnapshot-signal`) — at the baseline (under
   * load) and once idle after the load, and allow it to grow by this share; undefined = not measured.
   * Unlike RSS, which follows V8's heap sizing (±20 MB within seconds), this counts only objects
   * still reachable, so retained per-request state shows however short the run.
   */
  liveHeapTolerance?: number;
  /** Share of requests the client abandons mid-stream (default 0.3). */
  disconnectRate?: number;
  server?: Partial<ServerConfig>;
  log?: (s: string) => void;
}

export interface SoakSample {
  t: number;
  rssMb: number;
  /** V8 heap used / total and external (ArrayBuffers) from /metrics, MB. */
  heapMb: number;
  heapTotalMb: number;
  externalMb: number;
  running: number;
  waiting: number;
  kv: number;
  done: number;
  aborted: number;
  errors: number;
  tokens: number;
}

export interface SoakResult {
  samples: SoakSample[];
  baseline: SoakSample;
  end: SoakSample;
  /** Least-squares RSS slope over the samples under load after the baseline, MB/min. */
  rssSlopeMbPerMin: number;
  /** RSS compared by the assertion: highest sample under load in the window to the baseline time / to the end. */
  rssAtMb: number;
  rssEndMb: number;
  /** Live heap (MB, after a forced full GC) at the baseline and after the load; NaN when not measured. */
  liveHeapAtMb: number;
  liveHeapEndMb: number;
  completed: number;
  aborted: number;
  errors: string[];
  tokens: number;
  failures: string[];
}

const KEY = "soak-key-14";

/** Prometheus text -> value of an unlabelled metric. */
function metricValue(text: string, name: string): number {
  const m = new RegExp(`^${name}(?:\\{\\})? ([0-9.eE+-]+|NaN)$`, "m").exec(text);
  return m ? Number(m[1]) : NaN;
}

async function scrape(srv: ServerHandle): Promise<{
  running: number;
  waiting: number;
  kv: number;
  heapMb: number;
  heapTotalMb: number;
  externalMb: number;
}> {
  const res = await fetch(`http://127.0.0.1:${srv.port}/metrics`, {
    headers: { authorization: `Bearer ${KEY}` },
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`/metrics ${res.status}: ${text.slice(0, 200)}`);
  return {
    running: metricValue(text, "edgellm_requests_running"),
    waiting: metricValue(text, "edgellm_requests_waiting"),
    kv: metricValue(text, "edgellm_kv_cache_usage_ratio"),
    heapMb: metricValue(text, "edgellm_process_nodejs_heap_size_used_bytes") / 2 ** 20,
    heapTotalMb: metricValue(text, "edgellm_process_nodejs_heap_size_total_bytes") / 2 ** 20,
    externalMb: metricValue(text, "edgellm_process_nodejs_external_memory_bytes") / 2 ** 20,
  };
}

const PROMPTS = [
  "tell me a story",
  "what is 2 + 3?",
  "compute 17 * 4",
  "write a list of fruits",
  "hello",
  "explain the weather in Paris",
];

interface Counters {
  done: number;
  aborted: number;
  tokens: number;
  errors: string[];
}

/** One raw-fetch streaming request; resolves when it ends, throws on an error. */
async function rawStream(
  url: string,
  body: object,
  abortAfterTokens: number | undefined,
  ac: AbortController,
  cnt: Counters,
): Promise<void> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${KEY}` },
    body: JSON.stringify(body),
    signal: ac.signal,
  });
  if (res.status !== 200) throw new Error(`status ${res.status}: ${(await res.text()).slice(0, 200)}`);
  const reader = res.body!.getReader();
  const dec = new TextDecoder();
  let buf = "";
  let tokens = 0;
  let finished = false;
  let doneMarker = false;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += dec.decode(value, { stream: true });
    let i: number;
    while ((i = buf.indexOf("\n\n")) >= 0) {
      const block = buf.slice(0, i);
      buf = buf.slice(i + 2);
      for (const line of block.split("\n")) {
        if (!line.startsWith("data: ")) continue;
        const d = line.slice(6);
        if (d === "[DONE]") {
          doneMarker = true;
          continue;
        }
        const o = JSON.parse(d) as {
          error?: { message: string };
          choices?: {
            finish_reason: string | null;
            text?: string;
            delta?: { content?: string; reasoning_content?: string };
          }[];
        };
        if (o.error) throw new Error(`stream error event: ${o.error.message}`);
        for (const ch of o.choices ?? []) {
          if (ch.text || ch.delta?.content || ch.delta?.reasoning_content) tokens++;
          if (ch.finish_reason) finished = true;
        }
        cnt.tokens++;
        if (abortAfterTokens !== undefined && tokens >= abortAfterTokens) {
          ac.abort();
          await reader.cancel().catch(() => {});
          return;
        }
      }
    }
  }
  if (!finished || !doneMarker)
    throw new Error(`stream ended without ${finished ? "[DONE]" : "a finish_reason"}`);
}

async function sdkStream(
  client: OpenAI,
  kind: "chat" | "completion",
  body: Record<string, unknown>,
  abortAfterTokens: number | undefined,
  ac: AbortController,
  cnt: Counters,
): Promise<void> {
  let tokens = 0;
  let finished = false;
  const stream =
    kind === "chat"
      ? await client.chat.completions.create(
          body as never as OpenAI.Chat.ChatCompletionCreateParamsStreaming,
          { signal: ac.signal },
        )
      : await client.completions.create(body as never as OpenAI.CompletionCreateParamsStreaming, {
          signal: ac.signal,
        });
  for await (const c of stream as AsyncIterable<{
    choices: {
      finish_reason: string | null;
      text?: string;
      delta?: { content?: string | null; reasoning_content?: string | null };
    }[];
  }>) {
    for (const ch of c.choices) {
      if (ch.text || ch.delta?.content || ch.delta?.reasoning_content) tokens++;
      if (ch.finish_reason) finished = true;
    }
    cnt.tokens++;
    if (abortAfterTokens !== undefined && tokens >= abortAfterTokens) {
      ac.abort();
      return;
    }
  }
  if (!finished) throw new Error("stream ended without a finish_reason");
}

function requestBody(r: FuzzRng, modelId: string, kind: "chat" | "completion"): Record<string, unknown> {
  const b: Record<string, unknown> = { model: modelId, stream: true, max_tokens: r.int(4, 48) };
  if (kind === "chat") {
    b.messages = [{ role: "user", content: r.pick(PROMPTS) }];
    if (r.chance(0.2)) b.temperature = r.pick([0, 0.7, 1.2]);
    if (r.chance(0.15))
      b.response_format = {
        type: "json_schema",
        json_schema: {
          name: "o",
          schema: { type: "object", properties: { a: { type: "integer" } }, required: ["a"] },
        },
      };
    else if (r.chance(0.15)) {
      b.enable_thinking = true;
      b.thinking_budget = r.int(1, 8);
    }
    if (r.chance(0.2)) b.stream_options = { include_usage: true };
    if (r.chance(0.1)) b.n = 2;
  } else {
    b.prompt = r.pick(PROMPTS);
    if (r.chance(0.2)) b.logprobs = 2;
  }
  return b;
}

export async function runSoak(o: SoakOptions): Promise<SoakResult> {
  const log = o.log ?? (() => {});
  const clients = o.clients ?? 16;
  const sampleEvery = o.sampleEveryMs ?? 10_000;
  const baselineAt = o.baselineAtMs ?? Math.min(120_000, Math.floor(o.durationMs / 3));
  const tol = o.rssTolerance ?? 0.05;
  const disconnect = o.disconnectRate ?? 0.3;
  const cfg: ServerConfig = {
    name: "soak",
    modelId: "edgellm-default",
    apiKey: KEY,
    tools: false,
    maxTokenId: 700,
    args: ["--threads", "1", "--parallel", "8", "--max-queue", "64"],
    ...o.server,
  };
  const snapDir =
    o.liveHeapTolerance !== undefined ? mkdtempSync(join(tmpdir(), "edgellm-soak-")) : undefined;
  if (snapDir) {
    cfg.nodeArgs = [...(cfg.nodeArgs ?? []), "--heapsnapshot-signal=SIGUSR2"];
    cfg.cwd = snapDir;
  }
  const srv = await startServer(cfg);
  const base = `http://127.0.0.1:${srv.port}/v1`;
  const client = new OpenAI({ apiKey: KEY, baseURL: base, maxRetries: 0, timeout: 60_000 });
  const cnt: Counters = { done: 0, aborted: 0, tokens: 0, errors: [] };
  const samples: SoakSample[] = [];
  const t0 = performance.now();
  const endAt = t0 + o.durationMs;
  let died = false;
  let stopping = false;
  void srv.exited.then((c) => {
    if (stopping) return;
    died = true;
    cnt.errors.push(`server exited (${c}): ${srv.stderr().slice(-1000)}`);
  });

  const sample = async (): Promise<SoakSample> => {
    const m = await scrape(srv).catch((e: Error) => {
      cnt.errors.push(`metrics: ${e.message}`);
      return { running: NaN, waiting: NaN, kv: NaN, heapMb: NaN, heapTotalMb: NaN, externalMb: NaN };
    });
    const s: SoakSample = {
      t: Math.round((performance.now() - t0) / 1000),
      rssMb: srv.rssMb(),
      ...m,
      done: cnt.done,
      aborted: cnt.aborted,
      errors: cnt.errors.length,
      tokens: cnt.tokens,
    };
    samples.push(s);
    log(row(s));
    return s;
  };
  // The heap snapshot is written synchronously on the server's event loop: once its file exists,
  // the next /metrics answer comes after the write, and so after the collection that starts it.
  const liveHeapMb = async (): Promise<number> => {
    if (!snapDir || died) return NaN;
    srv.proc.kill("SIGUSR2");
    const t = performance.now();
    while (!readdirSync(snapDir).some((f) => f.endsWith(".heapsnapshot"))) {
      if (performance.now() - t > 60_000 || died) return NaN;
      await new Promise((r) => setTimeout(r, 50));
    }
    const m = await scrape(srv).catch(() => ({ heapMb: NaN, externalMb: NaN }));
    for (const f of readdirSync(snapDir)) rmSync(join(snapDir, f), { force: true });
    return m.heapMb + m.externalMb;
  };
  log(header());
  await sample();
  let baseline: SoakSample | undefined;
  let liveAt = NaN;
  const sampler = (async () => {
    for (let k = 1; ; k++) {
      const at = t0 + k * sampleEvery;
      if (at > endAt) return;
      await new Promise((r) => setTimeout(r, at - performance.now()));
      if (died) return;
      const s = await sample();
      if (!baseline && performance.now() - t0 >= baselineAt) {
        baseline = s;
        liveAt = await liveHeapMb();
      }
    }
  })();

  const worker = async (w: number) => {
    const r = new FuzzRng(o.seed ?? 1, 1000 + w);
    const viaSdk = w % 2 === 0;
    while (performance.now() < endAt && !died) {
      const kind = r.chance(0.7) ? "chat" : "completion";
      const body = requestBody(r, cfg.modelId, kind);
      const ac = new AbortController();
      let abortAfterTokens: number | undefined;
      let timer: NodeJS.Timeout | undefined;
      if (r.chance(disconnect)) {
        if (r.chance(0.6)) abortAfterTokens = r.int(1, 6);
        else timer = setTimeout(() => ac.abort(), r.int(2, 300));
      }
      try {
        if (viaSdk) await sdkStream(client, kind, body, abortAfterTokens, ac, cnt);
        else
          await rawStream(
            `${base}/${kind === "chat" ? "chat/completions" : "completions"}`,
            body,
            abortAfterTokens,
            ac,
            cnt,
          );
        if (ac.signal.aborted) cnt.aborted++;
        else cnt.done++;
      } catch (e) {
        if (ac.signal.aborted) cnt.aborted++;
        else cnt.errors.push(`${viaSdk ? "sdk" : "fetch"} ${kind}: ${(e as Error).message}`.slice(0, 300));
      } finally {
        if (timer) clearTimeout(timer);
      }
    }
  };
  await Promise.all(Array.from({ length: clients }, (_, w) => worker(w)));
  await sampler;
  // Clients have stopped: the engine must come back to idle (aborted streams included).
  let end = await sample();
  for (let k = 0; k < 50 && !died && (end.running || end.waiting || end.kv); k++) {
    await new Promise((r) => setTimeout(r, 200));
    end = await sample();
  }
  baseline ??= samples[Math.min(samples.length - 1, 1)];
  const failures: string[] = [];
  if (cnt.errors.length)
    failures.push(`${cnt.errors.length} errors, first: ${cnt.errors.slice(0, 3).join(" | ")}`);
  // RSS swings ±15% with V8's heap sizing (a major GC near 100 s drops it ~35 MB, and it climbs
  // back over the next minutes), so one sample can land anywhere in a swing. Both sides are read
  // the same way: the highest sample under load in the window (default 1 minute) ending at the
  // time, and the end side also includes the idle sample after the clients stop.
  const windowS = (o.rssWindowMs ?? Math.min(60_000, baselineAt)) / 1000;
  const loaded = samples.filter((x) => x.running > 0 || x.waiting > 0);
  const peak = (to: number) =>
    Math.max(...loaded.filter((x) => x.t > to - windowS && x.t <= to).map((x) => x.rssMb), -Infinity);
  const lastT = loaded.length ? loaded[loaded.length - 1].t : end.t;
  const rssAt = Number.isFinite(peak(baseline.t)) ? peak(baseline.t) : baseline.rssMb;
  const rssEnd = Math.max(end.rssMb, peak(lastT));
  if ((o.checkRss ?? o.liveHeapTolerance === undefined) && !(rssEnd <= rssAt * (1 + tol)))
    failures.push(
      `RSS grew: ${rssEnd.toFixed(1)} MB in the last ${windowS} s > ${rssAt.toFixed(1)} MB in the ${windowS} s to ${baseline.t} s + ${(tol * 100).toFixed(0)}%`,
    );
  const liveEnd = await liveHeapMb();
  if (o.liveHeapTolerance !== undefined) {
    if (!(Number.isFinite(liveAt) && Number.isFinite(liveEnd)))
      failures.push(`live heap not measured (at ${baseline.t} s: ${liveAt}, end: ${liveEnd})`);
    else if (!(liveEnd <= liveAt * (1 + o.liveHeapTolerance)))
      failures.push(
        `live heap grew: ${liveEnd.toFixed(1)} MB idle after the load > ${liveAt.toFixed(1)} MB under load at ${baseline.t} s + ${(o.liveHeapTolerance * 100).toFixed(0)}%`,
      );
  }
  if (snapDir) rmSync(snapDir, { recursive: true, force: true });
  if (end.running !== 0 || end.waiting !== 0 || end.kv !== 0)
    failures.push(`not idle at the end: running ${end.running}, waiting ${end.waiting}, kv ${end.kv}`);
  stopping = true;
  const stop = await srv.stop();
  if (!died && (stop.code !== 0 || stop.killed))
    failures.push(`SIGTERM: exit ${stop.code} after ${stop.ms.toFixed(0)} ms`);
  log(
    `soak: ${clients} clients, ${(o.durationMs / 1000).toFixed(0)} s: ${cnt.done} streams completed, ${cnt.aborted} abandoned mid-stream, ` +
      `${cnt.tokens} chunks, ${cnt.errors.length} errors; RSS (highest sample in ${windowS} s) ${rssAt.toFixed(1)} MB at ${baseline.t} s -> ${rssEnd.toFixed(1)} MB at the end ` +
      `(limit ${(rssAt * (1 + tol)).toFixed(1)}; single samples ${baseline.rssMb.toFixed(1)} -> ${end.rssMb.toFixed(1)}); end running ${end.running}, waiting ${end.waiting}, kv ${end.kv}; SIGTERM exit ${stop.code} in ${stop.ms.toFixed(0)} ms`,
  );
  const slope = rssSlope(samples.filter((s) => s.t >= baseline!.t && s.running > 0));
  log(`RSS trend from ${baseline.t} s to the end of the load: ${slope.toFixed(2)} MB/min (least squares)`);
  if (snapDir)
    log(
      `live heap (after a forced full GC): ${liveAt.toFixed(1)} MB under load at ${baseline.t} s -> ${liveEnd.toFixed(1)} MB idle after ${cnt.done + cnt.aborted} streams`,
    );
  for (const f of failures) log(`FAIL: ${f}`);
  return {
    samples,
    baseline,
    end,
    rssSlopeMbPerMin: slope,
    rssAtMb: rssAt,
    rssEndMb: rssEnd,
    liveHeapAtMb: liveAt,
    liveHeapEndMb: liveEnd,
    completed: cnt.done,
    aborted: cnt.aborted,
    errors: cnt.errors,
    tokens: cnt.tokens,
    failures,
  };
}

function rssSlope(xs: SoakSample[]): number {
  if (xs.length < 2) return NaN;
  const n = xs.length;
  const mt = xs.reduce((a, s) => a + s.t, 0) / n;
  const mr = xs.reduce((a, s) => a + s.rssMb, 0) / n;
  let num = 0;
  let den = 0;
  for (const s of xs) {
    num += (s.t - mt) * (s.rssMb - mr);
    den += (s.t - mt) ** 2;
  }
  return den ? (num / den) * 60 : NaN;
}

const COLS = [
  "t(s)",
  "RSS MB",
  "heap MB",
  "heap tot",
  "ext MB",
  "running",
  "waiting",
  "KV",
  "done",
  "aborted",
  "errors",
  "chunks",
];
function header(): string {
  return COLS.map((h) => h.padStart(8)).join(" ");
}
function row(s: SoakSample): string {
  const f = (x: number) => x.toFixed(1);
  return [
    s.t,
    f(s.rssMb),
    f(s.heapMb),
    f(s.heapTotalMb),
    f(s.externalMb),
    s.running,
    s.waiting,
    s.kv.toFixed(3),
    s.done,
    s.aborted,
    s.errors,
    s.tokens,
  ]
    .map((x) => String(x).padStart(8))
    .join(" ");
}

function arg(argv: string[], name: string): string | undefined {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
}

const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (isMain) {
  for (const sig of ["SIGINT", "SIGTERM"] as const) process.once(sig, () => process.exit(130));
  const argv = process.argv.slice(2);
  const minutes = Number(arg(argv, "minutes") ?? process.env.SOAK_MINUTES ?? 10);
  runSoak({
    durationMs: minutes * 60_000,
    clients: Number(arg(argv, "clients") ?? process.env.SOAK_CLIENTS ?? 16),
    seed: Number(arg(argv, "seed") ?? process.env.SOAK_SEED ?? 1),
    sampleEveryMs: Number(arg(argv, "sample-s") ?? 10) * 1000,
    liveHeapTolerance: argv.includes("--live-heap") ? 0.1 : undefined,
    log: (l) => console.log(l),
  }).then(
    (r) => process.exit(r.failures.length ? 1 : 0),
    (e) => {
      console.error(e);
      process.exit(2);
    },
  );
}
