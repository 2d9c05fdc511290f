// OpenAI image content parts on /v1/chat/completions (issue #22): data: URLs are decoded at the
// edge, and every bad image — corrupt PNG, a 50,000 x 50,000 header, a non-image data URL, an
// unsupported format, bad base64, a remote URL — is a 400 naming the part, never a crash. A good
// image reaches the model check: no served model reads images yet, which is a 400 too.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { encode as encodePng } from "fast-png";
import { zlibSync } from "fflate";
import { LLM } from "../../src/engine/llm.js";
import { buildServer } from "../../src/server/app.js";
import { parseImagePart } from "../../src/server/openai/image-parts.js";
import { ApiError } from "../../src/server/openai/errors.js";
import { SMALL, smallModel } from "../engine/helpers.js";

const TEMPLATE =
  "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}{% if add_generation_prompt %}assistant:{% endif %}";
const m = await smallModel({ ...SMALL, metadata: { "tokenizer.chat_template": TEMPLATE } });
const llm = new LLM(m.model, m.tokenizer, undefined, { parallel: 1, contextSize: 128 });
const srv = buildServer(llm, { modelId: "tiny" });
after(async () => {
  await srv.app.close();
  await llm.close();
  m.cleanup();
});

const b64 = (b: Uint8Array) => Buffer.from(b).toString("base64");
const png = encodePng({
  width: 5,
  height: 3,
  data: new Uint8Array(45).map((_, i) => i * 5),
  depth: 8,
  channels: 3,
});
const dataUrl = (bytes: Uint8Array, mime = "image/png") => `data:${mime};base64,${b64(bytes)}`;

const post = (url: string) =>
  srv.app.inject({
    method: "POST",
    url: "/v1/chat/completions",
    payload: {
      model: "tiny",
      max_tokens: 2,
      messages: [
        {
          role: "user",
          content: [
            { type: "text", text: "what is this?" },
            { type: "image_url", image_url: { url } },
          ],
        },
      ],
    },
  });

/** A PNG signature + IHDR claiming width x height, a tiny IDAT and IEND (CRCs zero). */
function hugeHeaderPng(width: number, height: number): Uint8Array {
  const chunk = (type: string, data: Uint8Array) => {
    const c = new Uint8Array(12 + data.length);
    new DataView(c.buffer).setUint32(0, data.length);
    c.set(
      [...type].map((ch) => ch.charCodeAt(0)),
      4,
    );
    c.set(data, 8);
    return [...c];
  };
  const ihdr = new Uint8Array(13);
  new DataView(ihdr.buffer).setUint32(0, width);
  new DataView(ihdr.buffer).setUint32(4, height);
  ihdr.set([8, 2, 0, 0, 0], 8);
  return new Uint8Array([
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a,
    ...chunk("IHDR", ihdr),
    ...chunk("IDAT", zlibSync(new Uint8Array(16))),
    ...chunk("IEND", new Uint8Array(0)),
  ]); // prettier-ignore
}

test("bad images are 400s naming the part", async () => {
  const corrupt = png.slice();
  corrupt[corrupt.length - 16]! ^= 0x5a;
  const cases: [string, string, RegExp][] = [
    ["corrupt PNG", dataUrl(corrupt), /corrupt PNG/],
    ["50,000 x 50,000 header", dataUrl(hugeHeaderPng(50_000, 50_000)), /50000x50000 = 2500000000 pixels/],
    ["non-image data URL", "data:text/plain;base64,aGVsbG8=", /'text\/plain' is not an image/],
    [
      "text bytes called a PNG",
      dataUrl(new TextEncoder().encode("hello world")),
      /not an image: unknown format/,
    ],
    [
      "GIF",
      dataUrl(new TextEncoder().encode("GIF89a\x01\x00\x01\x00"), "image/gif"),
      /unsupported image format 'gif'/,
    ],
    ["bad base64", "data:image/png;base64,!!!notbase64", /not valid base64/],
    ["not base64", "data:image/png,rawbytes", /must be base64/],
    ["remote URL", "https://example.com/cat.png", /remote image URLs are not fetched/],
  ];
  for (const [name, url, re] of cases) {
    const res = await post(url);
    assert.equal(res.statusCode, 400, `${name}: ${res.body}`);
    const err = res.json().error;
    assert.match(err.message, re, name);
    assert.equal(err.param, "messages[0].content[1]", name);
  }
  const shape = await srv.app.inject({
    method: "POST",
    url: "/v1/chat/completions",
    payload: {
      model: "tiny",
      messages: [{ role: "user", content: [{ type: "image_url", image_url: "x" }] }],
    },
  });
  assert.equal(shape.statusCode, 400);
  assert.equal(shape.json().error.param, "messages[0].content[0]");
});

test("a good image is decoded, then refused by a model without a vision encoder", async () => {
  const res = await post(dataUrl(png));
  assert.equal(res.statusCode, 400, res.body);
  assert.equal(res.json().error.code, "model_not_multimodal");
  assert.equal(res.json().error.param, "messages[0].content[1]");
  const ok = await srv.app.inject({
    method: "POST",
    url: "/v1/chat/completions",
    payload: {
      model: "tiny",
      max_tokens: 2,
      messages: [{ role: "user", content: [{ type: "text", text: "hi" }] }],
    },
  });
  assert.equal(ok.statusCode, 200, "text parts alone still work");
});

test("parseImagePart: the decoded pixels and the size limit from the base64 length", () => {
  const part = { type: "image_url", image_url: { url: dataUrl(png), detail: "low" } };
  const got = parseImagePart(part, 2, 3);
  assert.deepEqual(
    [got.message, got.part, got.image.width, got.image.height, got.bytes],
    [2, 3, 5, 3, png.length],
  );
  assert.deepEqual([...got.image.data], [...new Uint8Array(45).map((_, i) => i * 5)]);
  assert.throws(
    () => parseImagePart(part, 0, 0, { maxBytes: 10 }),
    (e: unknown) => e instanceof ApiError && e.status === 400 && /over the 10-byte limit/.test(e.message),
  );
});
