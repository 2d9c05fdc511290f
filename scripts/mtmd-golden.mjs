#!/usr/bin/env node
/**
 * Reference embeddings for the vision encoder (issue #22), from llama.cpp's own multimodal CLI.
 *
 *   node scripts/mtmd-golden.mjs build    clone node-llama-cpp's bundled llama.cpp source into
 *                                         build/llama.cpp-src and build ONLY `llama-mtmd-cli`
 *                                         (CPU, static, no OpenSSL) into build/llama.cpp-mtmd
 *   node scripts/mtmd-golden.mjs golden   (after `npm run build`) write random-weight mmproj
 *                                         GGUFs of real, scaled-down shapes with our own writer,
 *                                         run llama-mtmd-cli on a fixed image with
 *                                         MTMD_DEBUG_EMBEDDINGS=1, and commit the results under
 *                                         test/golden/vision/: the embeddings (*.emb.bin) and
 *                                         the language model's greedy continuation of the
 *                                         chat with the image at its marker (greedy.json)
 *                                         (ONLY=<regex>: only the matching cases)
 *   node scripts/mtmd-golden.mjs bench    encode time per image, llama.cpp's (its own log line)
 *                                         against ours (encodeImage, WASM kernels), alternating
 *                                         in one run on the same files and thread count
 *
 * Both steps run under `nice -n 19` with -j2 (the machines are shared). Idempotent; nothing
 * outside build/ and test/golden/vision/ is written.
 */
import { execFileSync, spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";

const root = resolve(dirname(new URL(import.meta.url).pathname), "..");
const srcDir = join(root, "build", "llama.cpp-src");
const buildDir = join(root, "build", "llama.cpp-mtmd");
const prebuiltCli = join(root, "build", "llama.cpp-mtmd-prebuilt", "bin", "llama-mtmd-cli");
/** The CLI to run: the full source build, else the one linked against node-llama-cpp's libraries. */
const cliPath = existsSync(join(buildDir, "bin", "llama-mtmd-cli"))
  ? join(buildDir, "bin", "llama-mtmd-cli")
  : prebuiltCli;

function sh(cmd, args, opts = {}) {
  console.log(`$ ${cmd} ${args.join(" ")}`);
  execFileSync(cmd, args, { stdio: "inherit", ...opts });
}

function cloneSource() {
  if (existsSync(join(srcDir, "CMakeLists.txt"))) return;
  const bundle = join(root, "node_modules", "node-llama-cpp", "llama", "gitRelease.bundle");
  mkdirSync(dirname(srcDir), { recursive: true });
  sh("git", ["clone", "-q", bundle, srcDir]);
}

/**
 * `build --prebuilt-libs`: compile only libmtmd's sources and the CLI from the bundled source and
 * link them against the ggml / llama / llama-common shared libraries node-llama-cpp ships for this
 * platform, built from the same llama.cpp release (about 50 files instead of 300: minutes instead
 * of an hour on a busy 2-core machine). ggml loads its best CPU backend from the binary's folder.
 */
function buildPrebuilt() {
  cloneSource();
  const platform = `${process.platform}-${process.arch}`;
  const bins = realpathSync(join(root, "node_modules", "@node-llama-cpp", platform, "bins", platform));
  const dir = join(root, "build", "llama.cpp-mtmd-prebuilt");
  mkdirSync(join(dir, "bin"), { recursive: true });
  const libs = readdirSync(bins).filter((f) =>
    /^lib(llama|ggml|ggml-base|llama-common)(\.v[\d.]+)?\.so$/.test(f),
  );
  for (const f of readdirSync(bins).filter((f) => /^libggml-cpu-.*\.so$/.test(f))) {
    const link = join(dir, "bin", f);
    if (!existsSync(link)) symlinkSync(join(bins, f), link);
  }
  const S = srcDir;
  writeFileSync(
    join(dir, "CMakeLists.txt"),
    `cmake_minimum_required(VERSION 3.14)
project(edgellm_mtmd_reference C CXX)
set(CMAKE_CXX_STANDARD 17)
set(CMAKE_POSITION_INDEPENDENT_CODE ON)
find_package(Threads REQUIRED)
file(GLOB MTMD_MODELS ${S}/tools/mtmd/models/*.cpp)
set(M ${S}/tools/mtmd)
add_executable(llama-mtmd-cli \${M}/mtmd-cli.cpp \${M}/mtmd.cpp \${M}/mtmd-audio.cpp \${M}/mtmd-image.cpp
  \${M}/mtmd-helper.cpp \${M}/mtmd-helper-gen.cpp \${M}/clip.cpp \${MTMD_MODELS}
  ${S}/vendor/hash/hash.cpp ${S}/vendor/hash/xxhash/xxhash.c ${S}/vendor/hash/sha1/sha1.c ${S}/vendor/hash/sha256/sha256.c)
set_source_files_properties(${S}/vendor/hash/sha1/sha1.c PROPERTIES LANGUAGE CXX)
target_include_directories(llama-mtmd-cli PRIVATE ${S}/include ${S}/ggml/include ${S}/common \${M} ${S}/vendor ${S}/vendor/hash)
target_link_libraries(llama-mtmd-cli PRIVATE ${libs.map((l) => join(bins, l)).join(" ")} Threads::Threads \${CMAKE_DL_LIBS})
set_target_properties(llama-mtmd-cli PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${join(dir, "bin")} BUILD_RPATH ${bins})
`,
  );
  sh("nice", ["-n", "19", "cmake", "-S", dir, "-B", join(dir, "cmake"), "-DCMAKE_BUILD_TYPE=Release"]);
  sh("nice", ["-n", "19", "cmake", "--build", join(dir, "cmake"), "--target", "llama-mtmd-cli", "-j2"]);
  console.log(join(dir, "bin", "llama-mtmd-cli"));
}

function build() {
  cloneSource();
  sh("nice", [
    "-n",
    "19",
    "cmake",
    "-S",
    srcDir,
    "-B",
    buildDir,
    "-DCMAKE_BUILD_TYPE=Release",
    "-DBUILD_SHARED_LIBS=OFF",
    "-DLLAMA_OPENSSL=OFF",
    "-DLLAMA_BUILD_TESTS=OFF",
    "-DLLAMA_BUILD_EXAMPLES=OFF",
    "-DLLAMA_BUILD_SERVER=OFF",
    "-DLLAMA_BUILD_APP=OFF",
    "-DGGML_OPENMP=OFF",
    "-DGGML_NATIVE=ON",
  ]);
  sh("nice", ["-n", "19", "cmake", "--build", buildDir, "--target", "llama-mtmd-cli", "-j2"]);
  console.log(cliPath);
}

const goldenDir = join(root, "test", "golden", "vision");
/** Greedy tokens generated after the image (the LM is random: the text is arbitrary pieces). */
const N_PREDICT = 12;
/**
 * The chat llama-mtmd-cli renders for `-p describe` with --chat-template chatml: it puts the media
 * marker before a prompt that has none (mtmd-cli.cpp), then llama.cpp's chatml format.
 */
const CHATML_PROMPT = "<|im_start|>user\n<__media__>describe<|im_end|>\n<|im_start|>assistant\n";

/** Binary PPM (P6), which llama.cpp's stb_image reads: the image bytes llama.cpp and we both see. */
function writePpm(path, width, height, rgb) {
  const head = Buffer.from(`P6\n${width} ${height}\n255\n`, "ascii");
  writeFileSync(path, Buffer.concat([head, Buffer.from(rgb)]));
}

/** A deterministic test picture: smooth gradients, hard edges, a little seeded noise. */
function pattern(width, height, seed) {
  const rgb = new Uint8Array(width * height * 3);
  let s = seed >>> 0;
  const noise = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s >>> 24) - 128;
  };
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 3;
      const edge = (x > width / 3 && x < (2 * width) / 3) !== y > height / 2 ? 60 : 0;
      rgb[o] = Math.max(0, Math.min(255, Math.round(128 + 90 * Math.sin(x / 7 + y / 11)) + edge));
      rgb[o + 1] = Math.max(0, Math.min(255, ((x * 255) / width + noise() / 8) | 0));
      rgb[o + 2] = Math.max(0, Math.min(255, ((y * 255) / height + ((x * y) % 37) + noise() / 4) | 0));
    }
  }
  return rgb;
}

/** A cases.json mmproj spec with ggml type names ("F16") resolved, as the tests resolve them. */
async function mmprojSpec(spec) {
  const { ggmlTypeFromName } = await import(join(root, "dist/src/gguf/types.js"));
  const out = { ...spec };
  for (const k of ["weightType", "patchType"])
    if (typeof out[k] === "string") out[k] = ggmlTypeFromName(out[k]);
  return out;
}

async function golden() {
  const manifest = JSON.parse(readFileSync(join(goldenDir, "cases.json"), "utf8"));
  for (const img of manifest.images) {
    const path = join(goldenDir, img.file);
    if (!existsSync(path)) writePpm(path, img.width, img.height, pattern(img.width, img.height, img.seed));
  }
  if (!existsSync(cliPath))
    throw new Error(`${cliPath} missing: run 'node scripts/mtmd-golden.mjs build' first`);
  const { writeTestMmproj } = await import(join(root, "dist/src/model/factory/mmproj.js"));
  const { writeTestModel } = await import(join(root, "dist/src/model/factory/index.js"));
  const tmp = mkdtempSync(join(tmpdir(), "mtmd-golden-"));
  // ONLY=<regex>: regenerate just the matching cases, keeping the others' committed goldens.
  const only = process.env.ONLY ? new RegExp(process.env.ONLY) : undefined;
  const greedyPath = join(goldenDir, "greedy.json");
  const greedy = only && existsSync(greedyPath) ? JSON.parse(readFileSync(greedyPath, "utf8")) : {};
  try {
    for (const c of manifest.cases) {
      if (only && !only.test(c.name)) continue;
      const mm = join(tmp, `${c.name}.mmproj.gguf`);
      const lm = join(tmp, `${c.name}.lm.gguf`);
      await writeTestMmproj(mm, await mmprojSpec(c.mmproj));
      await writeTestModel(lm, c.lm);
      const dump = join(tmp, `${c.name}.bin`);
      // -fa off: flash attention would round K/V to F16; --temp 0: greedy.
      const args = [
        "-m",
        lm,
        "--mmproj",
        mm,
        "--image",
        join(goldenDir, c.image),
        "-p",
        "describe",
        "--chat-template",
        "chatml",
        "-fa",
        "off",
        "--temp",
        "0",
        "-n",
        String(N_PREDICT),
        "-t",
        "2",
        "--no-warmup",
        "-v",
      ];
      console.log(`$ MTMD_DEBUG_EMBEDDINGS=${dump} ${cliPath} ${args.join(" ")}`);
      const r = spawnSync("nice", ["-n", "19", cliPath, ...args], {
        env: { ...process.env, MTMD_DEBUG_EMBEDDINGS: dump },
        encoding: "utf8",
      });
      if (r.status !== 0 || !existsSync(dump)) {
        console.error(r.stdout, r.stderr);
        throw new Error(`llama-mtmd-cli failed on case ${c.name} (status ${r.status})`);
      }
      if (!r.stderr.includes(`formatted_chat.prompt: ${CHATML_PROMPT}`))
        throw new Error(`llama-mtmd-cli rendered another chat than ${JSON.stringify(CHATML_PROMPT)}`);
      // stdout holds only what the CLI LOG()s without a level: "\n" once the prompt is in, the
      // generated pieces (and "\n" when it stopped at end-of-generation), "\n\n" at exit.
      if (!r.stdout.startsWith("\n") || !r.stdout.endsWith("\n\n"))
        throw new Error(`unexpected llama-mtmd-cli stdout ${JSON.stringify(r.stdout)}`);
      greedy[c.name] = { prompt: CHATML_PROMPT, stdout: r.stdout.slice(1, -2), nPredict: N_PREDICT };
      const out = join(goldenDir, `${c.name}.emb.bin`);
      writeFileSync(out, readFileSync(dump));
      const raw = readFileSync(dump);
      const hdr = [raw.readInt32LE(0), raw.readInt32LE(4)];
      const ms = /(?:slice encoded|batch encoding done) in (\d+) ms/.exec(`${r.stdout}\n${r.stderr}`)?.[1];
      console.log(
        `  ${c.name}: [${hdr[0]} tokens, ${hdr[1]} dims] -> ${out} (llama.cpp encode ${ms ?? "?"} ms)`,
      );
      console.log(`  greedy: ${JSON.stringify(greedy[c.name].stdout)}`);
    }
    writeFileSync(greedyPath, JSON.stringify(greedy, null, 2) + "\n");
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/**
 * Encode time per image: llama-mtmd-cli (a fresh process per run, its "image slice encoded in N
 * ms" line; load and warm-up not counted) against our encodeImage on the WASM kernels, same
 * thread count, alternating, on the golden images, one ViT-S sized encoder (224 px, 256
 * patches, 6 layers of 384) and the same sizes as a Gemma 3 SigLIP (gemma3 projector). Prints
 * each side's median and the ratio ours / llama.cpp. REPS, THREADS, CASES=<regex> from the env.
 */
async function bench() {
  const threads = Number(process.env.THREADS ?? 2);
  const reps = Number(process.env.REPS ?? 3);
  if (!existsSync(cliPath))
    throw new Error(`${cliPath} missing: run 'node scripts/mtmd-golden.mjs build' first`);
  const manifest = JSON.parse(readFileSync(join(goldenDir, "cases.json"), "utf8"));
  const { writeTestMmproj } = await import(join(root, "dist/src/model/factory/mmproj.js"));
  const { writeTestModel } = await import(join(root, "dist/src/model/factory/index.js"));
  const { openVisionModel } = await import(join(root, "dist/src/vision/index.js"));
  const { createWasmKernelSet } = await import(join(root, "dist/src/kernels/wasm/wasm-kernel-set.js"));
  const { readPpm } = await import(join(root, "dist/test/vision/fixtures.js"));
  const vitS = {
    name: "vit-s-224",
    mmproj: {
      style: "llava",
      imageSize: 224,
      patchSize: 14,
      nEmbd: 384,
      nHead: 6,
      nFf: 1536,
      nLayer: 6,
      projDim: 64,
      seed: 11,
    },
    lm: { arch: "llama", nEmbd: 64, nLayer: 1, nHead: 2, nFf: 128 },
    image: "wide-150x97.ppm",
  };
  // The same sizes in Gemma 3's SigLIP layout (all 6 blocks run, 4 x 4 pooling: 16 tokens).
  const siglipS = {
    name: "siglip-s-224",
    mmproj: {
      style: "gemma3",
      imageSize: 224,
      patchSize: 14,
      nEmbd: 384,
      nHead: 6,
      nFf: 1536,
      nLayer: 6,
      projDim: 64,
      seed: 12,
    },
    lm: { arch: "llama", nEmbd: 64, nLayer: 1, nHead: 2, nFf: 128 },
    image: "wide-150x97.ppm",
  };
  // CASES=<regex>: only the matching cases.
  const pick = process.env.CASES ? new RegExp(process.env.CASES) : undefined;
  const cases = [
    manifest.cases.find((c) => c.name === "llava15"),
    manifest.cases.find((c) => c.name === "llava15-f16"),
    vitS,
    siglipS,
  ].filter((c) => !pick || pick.test(c.name));
  const tmp = mkdtempSync(join(tmpdir(), "mtmd-bench-"));
  const ks = await createWasmKernelSet({ threads });
  const median = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
  try {
    for (const c of cases) {
      const mm = join(tmp, `${c.name}.mmproj.gguf`);
      const lm = join(tmp, `${c.name}.lm.gguf`);
      await writeTestMmproj(mm, await mmprojSpec(c.mmproj));
      await writeTestModel(lm, c.lm);
      const vm = await openVisionModel(mm, ks);
      const img = readPpm(join(goldenDir, c.image));
      vm.encodeImage(img); // warm-up (llama.cpp warms up at load too)
      const theirs = [];
      const ours = [];
      for (let i = 0; i < reps; i++) {
        const args = [
          "-m",
          lm,
          "--mmproj",
          mm,
          "--image",
          join(goldenDir, c.image),
          "-p",
          "describe",
          "--chat-template",
          "chatml",
          "-fa",
          "off",
          "--temp",
          "0",
          "-n",
          "1",
          "-t",
          String(threads),
        ];
        const r = spawnSync(cliPath, args, { encoding: "utf8" });
        const ms = /(?:slice encoded|batch encoding done) in (\d+) ms/.exec(`${r.stdout}\n${r.stderr}`)?.[1];
        if (ms === undefined)
          throw new Error(`no encode time from llama-mtmd-cli (status ${r.status}): ${r.stderr.slice(-400)}`);
        theirs.push(Number(ms));
        const t0 = performance.now();
        vm.encodeImage(img);
        ours.push(performance.now() - t0);
      }
      const [a, b] = [median(ours), median(theirs)];
      console.log(
        `${c.name} (${vm.tokensPerImage} tokens): ours ${a.toFixed(0)} ms, llama.cpp ${b.toFixed(0)} ms, ` +
          `ratio ${(a / Math.max(b, 1)).toFixed(2)} (median of ${reps}, ${threads} threads)`,
      );
    }
  } finally {
    await ks.dispose();
    rmSync(tmp, { recursive: true, force: true });
  }
}

const cmd = process.argv[2];
if (cmd === "build" && process.argv.includes("--prebuilt-libs")) buildPrebuilt();
else if (cmd === "build") build();
else if (cmd === "golden") await golden();
else if (cmd === "bench") await bench();
else {
  console.error("usage: node scripts/mtmd-golden.mjs build [--prebuilt-libs] | golden | bench");
  process.exitCode = 1;
}
