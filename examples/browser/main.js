// The whole example: start the engine worker, load a model (the URL is downloaded into the
// browser's OPFS cache once, resumably), then stream greedy answers into the page.
import { WorkerEngine } from "edgellm/web";

const $ = (id) => document.getElementById(id);
const model = new URLSearchParams(location.search).get("model") ?? "/models/edgellm-default-q8_0.gguf";

const engine = new WorkerEngine(new URL("/edgellm/engine-worker.js", location.href));
try {
  const info = await engine.load({ kind: "url", url: new URL(model, location.href).href }, (p) => {
    $("status").textContent = `${p.phase} ${Math.round(p.fraction * 100)}%`;
  });
  $("status").textContent = `${info.name}: ${info.kernels}, ${info.threads} thread(s)`;
  $("send").disabled = false;
} catch (e) {
  $("status").textContent = `could not load the model: ${e.message}`;
}

$("ask").onsubmit = async (ev) => {
  ev.preventDefault();
  $("send").disabled = true;
  $("answer").textContent = "";
  delete $("answer").dataset.done;
  try {
    const messages = [{ role: "user", content: $("question").value }];
    for await (const ev of engine.chat(messages, { maxTokens: 200, temperature: 0 })) {
      if (ev.type === "token") $("answer").textContent += ev.text;
    }
  } catch (e) {
    $("answer").textContent = `error: ${e.message}`;
  } finally {
    $("answer").dataset.done = "true";
    $("send").disabled = false;
  }
};
