// `edgellm bench` end to end on a small F32 factory model: both sides measured in child processes,
// alternating, with finite figures; the greedy tokens of both sides agree (our forward matches
// llama.cpp on F32 weights); bad arguments are typed errors with exit code 1.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeTestModel, type TestModelSpec } from "../../src/model/factory/index.js";
import { writeTestAdapter } from "../../src/model/factory/lora.js";
import { agreement, type BenchReport } from "../../src/cli/bench/report.js";
import { runCli } from "./helpers.js";

const dir = mkdtempSync(join(tmpdir(), "bench-cli-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const path = join(dir, "m.gguf");
const spec: TestModelSpec = {
  arch: "llama",
  nEmbd: 64,
  nLayer: 2,
  nHead: 4,
  nHeadKv: 2,
  nFf: 96,
  nCtx: 128,
  nVocab: 500,
  seed: 3,
  weightStd: 0.15,
};
await writeTestModel(path, spec);

const cli = (args: string[]) => runCli(["bench", ...args]);

test(
  "bench --vs-llama-cpp --json: both sides, alternating, finite figures, greedy tokens agree",
  { timeout: 120_000 },
  async () => {
    const r = await cli([
      "-m",
      path,
      "--threads",
      "1",
      "--prompt",
      "16",
      "--gen",
      "6",
      "--repeats",
      "2",
      "--vs-llama-cpp",
      "--json",
    ]);
    assert.equal(r.code, 0, r.err);
    const rep = JSON.parse(r.out) as BenchReport;
    // Progress lines show the alternation: edgellm, llama.cpp, edgellm, llama.cpp.
    assert.deepEqual(
      r.err
        .trim()
        .split("\n")
        .map((l) => /\] (\S+)/.exec(l)?.[1]),
      ["edgellm", "llama.cpp", "edgellm", "llama.cpp"],
    );
    for (const s of [rep.ours, rep.theirs!]) {
      assert.equal(s.runs, 2);
      for (const k of ["ppTokS", "decodeTokS", "ttftMs", "loadMs"] as const)
        assert.ok(Number.isFinite(s[k]) && s[k] > 0, `${s.side} ${k} = ${s[k]}`);
      assert.ok(
        s.rssPeak >= s.rssLoaded && s.rssLoaded > 10 << 20,
        `${s.side} RSS ${s.rssLoaded} / ${s.rssPeak}`,
      );
      assert.equal(s.tokens.length, 6);
    }
    assert.ok(
      agreement(rep.ours.tokens, rep.theirs!.tokens) >= 3,
      `greedy tokens ${rep.ours.tokens} vs ${rep.theirs!.tokens}`,
    );
    assert.ok(rep.ceiling.gbs > 0.1 && rep.weightBytesPerToken > 0);
  },
);

test("bench prints the table with ratios and the bandwidth view", { timeout: 60_000 }, async () => {
  const r = await cli(["-m", path, "--threads", "1", "--prompt", "8", "--gen", "3", "--repeats", "1"]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /\| decode tok\/s +\| +[\d.]+ \|/);
  assert.match(
    r.out,
    /bandwidth: [\d.]+ MiB of weights read per decoded token; measured read ceiling [\d.]+ GB\/s/,
  );
});

test("bench: bad arguments exit 1 with a message", async () => {
  for (const [args, msg] of [
    [["-m", path, "--prompt", "100", "--gen", "100"], /exceeds the model's context of 128/],
    [["-m", path, "--gen", "0"], /--gen must be a positive integer/],
    [["-m", join(dir, "nope.gguf")], /nope\.gguf/],
    [["-m", path, "--prompt", "16", "--gen", "6", "--vs-base"], /--vs-base needs --lora/],
  ] as [string[], RegExp][]) {
    const r = await cli(args);
    assert.equal(r.code, 1, `${args.join(" ")}: ${r.err}`);
    assert.match(r.err, msg);
  }
});

test(
  "bench --lora --vs-base: base and LoRA runs alternate, the overhead line is printed",
  { timeout: 120_000 },
  async () => {
    const ad = join(dir, "a.gguf");
    await writeTestAdapter(ad, spec, { rank: 8, alpha: 16 });
    const r = await cli([
      "-m",
      path,
      "--threads",
      "1",
      "--prompt",
      "16",
      "--gen",
      "6",
      "--repeats",
      "2",
      "--lora",
      ad,
      "--vs-base",
    ]);
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(
      r.err
        .trim()
        .split("\n")
        .map((l) => /\] (\S+)/.exec(l)?.[1]),
      ["base", "edgellm", "edgellm", "base"],
    );
    assert.match(r.out, /1 LoRA/);
    assert.match(
      r.out,
      /LoRA overhead at 1 thread\(s\), medians of 2: decode [\d.]+ -> [\d.]+ tok\/s \(-?[\d.]+% slower\)/,
    );
  },
);

test(
  "bench --lookup / --draft / --draft-layers: plain and speculative runs alternate; speed-up, acceptance and identical tokens printed",
  { timeout: 120_000 },
  async () => {
    const base = ["-m", path, "--threads", "1", "--prompt", "16", "--gen", "24", "--repeats", "2"];
    const r = await cli([...base, "--lookup", "--draft-max", "4"]);
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(
      r.err
        .trim()
        .split("\n")
        .map((l) => /\] (\S+)/.exec(l)?.[1]),
      ["plain", "edgellm", "edgellm", "plain"],
    );
    assert.match(r.out, /speculative lookup \(max 4\)/);
    assert.match(
      r.out,
      /speculative decoding \(lookup, at most 4 drafted\) at 1 thread\(s\), medians of 2: decode [\d.]+ -> [\d.]+ tok\/s \(x[\d.]+\); drafted \d+, accepted \d+ \(\d+%\), \d+ forward steps \(prefill included\) for 24 tokens; greedy tokens identical to the plain runs'/,
    );
    // The model as its own draft: every draft is accepted.
    const d = await cli([...base, "--draft", path]);
    assert.equal(d.code, 0, d.err);
    const m = /drafted (\d+), accepted (\d+) \(100%\)/.exec(d.out);
    assert.ok(m && Number(m[1]) > 0 && m[1] === m[2], d.out);
    assert.match(d.out, /greedy tokens identical to the plain runs'/);
    const bad = await cli([...base, "--draft-max", "4"]);
    assert.equal(bad.code, 1);
    assert.match(bad.err, /--draft-max needs --draft <gguf>, --lookup or --draft-layers <k>/);
    // Self-speculative early exit: the model's first layer drafts, both layers verify.
    const e = await cli([...base, "--draft-layers", "1", "--draft-max", "3"]);
    assert.equal(e.code, 0, e.err);
    assert.match(e.out, /speculative early exit after 1 layers \(max 3\)/);
    assert.match(
      e.out,
      /speculative decoding \(early exit after 1 layers, at most 3 drafted\) .*drafted [1-9]\d*, accepted \d+ \(\d+%\), \d+ forward steps \(prefill included\) \+ [1-9]\d* draft forwards for 24 tokens; greedy tokens identical to the plain runs'/,
    );
    for (const [k, msg] of [
      ["2", /speculative draftLayers must be an integer in 1\.\.1 \(the model has 2 layers\), got 2/],
      ["x", /--draft-layers must be a positive integer/],
    ] as const) {
      const b = await cli([...base, "--draft-layers", k]);
      assert.equal(b.code, 1, b.out);
      assert.match(b.err, msg);
    }
    const both = await cli([...base, "--draft-layers", "1", "--lookup"]);
    assert.equal(both.code, 1);
    assert.match(both.err, /give one of --draft, --lookup, --draft-layers, not --lookup and --draft-layers/);
  },
);
