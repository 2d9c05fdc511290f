#!/usr/bin/env node
// Load test for a running `edgellm serve` (loopback only, bounded): N concurrent streaming clients
// for M seconds, each sending chat requests back to back. Reports requests, generated tokens/s
// (aggregate), latency and TTFT p50/p99, and the server's RSS at start and end (from /metrics).
//   node scripts/load-test.mjs --url http://127.0.0.1:8080 --clients 4 --seconds 20 --max-tokens 32 [--api-key K]
import { parseArgs } from "node:util";

const { values: a } = parseArgs({
  options: {
    url: { type: "string", default: "http://127.0.0.1:8080" },
    clients: { type: "string", default: "4" },
    seconds: { type: "string", default: "20" },
    "max-tokens": { type: "string", default: "32" },
    "api-key": { type: "string" },
    model: { type: "string" },
  },
});
const url = new URL(a.url);
if (!["127.0.0.1", "localhost", "[::1]", "::1"].includes(url.hostname)) {
  console.error(`load-test: refusing non-loopback host '${url.hostname}'`);
  process.exit(2);
}
const clients = Math.min(64, Math.max(1, Number(a.clients) | 0));
const seconds = Math.min(600, Math.max(1, Number(a.seconds)));
const maxTokens = Math.min(1024, Math.max(1, Number(a["max-tokens"]) | 0));
const headers = { "content-type": "application/json", ...(a["api-key"] ? { authorization: `Bearer ${a["api-key"]}` } : {}) };

async function metric(re) {
  const t = await (await fetch(new URL("/metrics", url))).text();
  const m = re.exec(t);
  return m ? Number(m[1]) : NaN;
}
const rss = () => metric(/^edgellm_process_\w*resident_memory_bytes ([0-9.e+]+)$/m);
// Server CPU seconds (all threads): tokens per CPU-second is steadier than tokens per wall second
// on a machine shared with other work.
const cpu = () => metric(/^edgellm_process_\w*cpu_seconds_total ([0-9.e+]+)$/m);

const model = a.model ?? (await (await fetch(new URL("/v1/models", url), { headers })).json()).data[0].id;
const rss0 = await rss();
const cpu0 = await cpu();
const lat = [];
const ttft = [];
let tokens = 0;
let errors = 0;
const t0 = performance.now();
const deadline = t0 + seconds * 1000;

async function client(i) {
  let k = 0;
  while (performance.now() < deadline) {
    const start = performance.now();
    let first = 0;
    try {
      const res = await fetch(new URL("/v1/chat/completions", url), {
        method: "POST",
        headers,
        body: JSON.stringify({ model, messages: [{ role: "user", content: `client ${i} request ${k++}: say something` }], max_tokens: maxTokens, temperature: 0.8, stream: true, stream_options: { include_usage: true } }),
      });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const reader = res.body.getReader();
      const dec = new TextDecoder();
      let buf = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += dec.decode(value, { stream: true });
        let j;
        while ((j = buf.indexOf("\n\n")) >= 0) {
          const line = buf.slice(0, j);
          buf = buf.slice(j + 2);
          if (!line.startsWith("data: ") || line === "data: [DONE]") continue;
          const ev = JSON.parse(line.slice(6));
          if (!first && ev.choices?.[0]?.delta?.content) first = performance.now();
          if (ev.usage) tokens += ev.usage.completion_tokens;
        }
      }
      lat.push(performance.now() - start);
      if (first) ttft.push(first - start);
    } catch (e) {
      errors++;
      if (errors > 100) throw e;
    }
  }
}

await Promise.all(Array.from({ length: clients }, (_, i) => client(i)));
const wall = (performance.now() - t0) / 1000;
const rss1 = await rss();
const cpuS = (await cpu()) - cpu0;
const pct = (xs, p) => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((x, y) => x - y);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const mib = (b) => (b / 2 ** 20).toFixed(1);
console.log(
  `clients ${clients} | ${wall.toFixed(1)} s | requests ${lat.length} (errors ${errors}) | ${(tokens / wall).toFixed(1)} tok/s aggregate | ` +
    `latency p50 ${pct(lat, 50).toFixed(0)} ms p99 ${pct(lat, 99).toFixed(0)} ms | TTFT p50 ${pct(ttft, 50).toFixed(0)} ms p99 ${pct(ttft, 99).toFixed(0)} ms | ` +
    `server CPU ${cpuS.toFixed(1)} s (${(tokens / cpuS).toFixed(1)} tok/CPU-s) | server RSS ${mib(rss0)} -> ${mib(rss1)} MiB`,
);
