#!/usr/bin/env node
// A minimal OpenAI-compatible chat server over node-llama-cpp, for the local evaluation (tools/eval).
//
//   node tools/eval/server.mjs --model PATH.gguf --runtime DIR [--port 0] [--threads 2] [--ctx 16384]
//
// DIR holds node_modules/node-llama-cpp (tools/eval/setup_model.py installs it). Binds 127.0.0.1 only. With
// --port 0 the OS picks a port; once the model is loaded one line "READY http://127.0.0.1:PORT/v1" goes to stdout.
// POST /v1/chat/completions (non-streaming; max_tokens, temperature, top_p, stop; usage with cached tokens and
// timings), GET /v1/models. One context sequence is kept, so a request whose prompt extends the previous one only
// evaluates the new tokens. Requests are served one at a time. Sampling defaults (when the request sets none) are
// Qwen2.5's own: temperature 0.7, top_p 0.8, top_k 20, repeat penalty 1.05.
import http from "node:http";
import path from "node:path";
import { parseArgs } from "node:util";
import { pathToFileURL } from "node:url";

const { values: opt } = parseArgs({ options: {
  model: { type: "string" }, runtime: { type: "string" }, host: { type: "string", default: "127.0.0.1" },
  port: { type: "string", default: "0" }, threads: { type: "string", default: "2" }, ctx: { type: "string", default: "16384" },
  "batch-size": { type: "string", default: "512" }, "chat-wrapper": { type: "string", default: "jinjaTemplate" },
  name: { type: "string", default: "qwen" },
} });
if (!opt.model || !opt.runtime) { console.error("usage: server.mjs --model PATH.gguf --runtime DIR"); process.exit(2); }
const lib = await import(pathToFileURL(path.join(opt.runtime, "node_modules/node-llama-cpp/dist/index.js")).href);
const threads = Number(opt.threads);
const llama = await lib.getLlama({ gpu: false, maxThreads: threads, logLevel: lib.LlamaLogLevel.error });
const model = await llama.loadModel({ modelPath: opt.model });
const context = await model.createContext({ contextSize: Number(opt.ctx), batchSize: Number(opt["batch-size"]), threads, sequences: 1 });
const sequence = context.getSequence();
const chatWrapper = lib.resolveChatWrapper(model, { type: opt["chat-wrapper"] }); // the GGUF's own template by default
const chat = new lib.LlamaChat({ contextSequence: sequence, chatWrapper });

const text = (c) => typeof c === "string" ? c : Array.isArray(c) ? c.map((p) => p.text ?? "").join("") : String(c ?? "");
const toHistory = (messages) => messages.map((m) => m.role === "assistant" ? { type: "model", response: [text(m.content)] }
  : m.role === "system" || m.role === "developer" ? { type: "system", text: text(m.content) } : { type: "user", text: text(m.content) });

let queue = Promise.resolve();
async function complete(body, signal) {
  if (signal.aborted) { console.error("[server] client left while queued: skipped"); return [499, {}]; }
  const history = [...toHistory(body.messages ?? []), { type: "model", response: [] }];
  const promptTokens = chatWrapper.generateContextState({ chatHistory: history }).contextText.tokenize(model.tokenizer).length;
  const room = context.contextSize - promptTokens - 1;
  if (room <= 0) return [400, { error: { message: `prompt is ${promptTokens} tokens; context is ${context.contextSize}`, type: "invalid_request_error", code: "context_length_exceeded" } }];
  const stop = body.stop == null ? [] : [].concat(body.stop);
  const before = sequence.tokenMeter.getState(), t0 = performance.now();
  let tFirst = null;
  const res = await chat.generateResponse(history, {
    maxTokens: Math.min(body.max_tokens ?? body.max_completion_tokens ?? room, room),
    temperature: body.temperature ?? 0.7, topP: body.top_p ?? 0.8, topK: 20, seed: body.seed,
    repeatPenalty: { penalty: 1.05 }, customStopTriggers: stop.length ? stop : undefined,
    signal, stopOnAbortSignal: true, contextShift: { strategy: "eraseFirstResponseAndKeepFirstSystem" },
    onToken: () => { tFirst ??= performance.now(); },
  });
  const t1 = performance.now(), used = lib.TokenMeter.diff(sequence.tokenMeter, before);
  const completionTokens = used.usedOutputTokens;
  const timings = { prompt_n: used.usedInputTokens, prompt_ms: (tFirst ?? t1) - t0, predicted_n: completionTokens, predicted_ms: t1 - (tFirst ?? t1) };
  console.error(`[server] prompt ${promptTokens} (evaluated ${timings.prompt_n}) in ${(timings.prompt_ms / 1000).toFixed(1)} s, `
    + `generated ${completionTokens} in ${(timings.predicted_ms / 1000).toFixed(1)} s, stop=${res.metadata.stopReason}`
    + (signal.aborted ? " (client left; the evaluated prompt stays cached for its retry)" : ""));
  return [200, {
    id: `chatcmpl-${Date.now()}`, object: "chat.completion", created: Math.floor(Date.now() / 1000), model: opt.name,
    choices: [{ index: 0, message: { role: "assistant", content: res.response },
      finish_reason: res.metadata.stopReason === "maxTokens" ? "length" : "stop" }],
    usage: { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens,
      prompt_tokens_details: { cached_tokens: Math.max(0, promptTokens - timings.prompt_n) } },
    timings,
  }];
}

const send = (res, status, obj) => { res.writeHead(status, { "content-type": "application/json" }); res.end(JSON.stringify(obj)); };
const server = http.createServer(async (req, res) => {
  try {
    if (req.method === "GET" && /^\/(v1\/)?models$/.test(req.url)) return send(res, 200, { object: "list", data: [{ id: opt.name, object: "model", owned_by: "local" }] });
    if (req.method === "GET" && req.url === "/health") return send(res, 200, { status: "ok" });
    if (req.method !== "POST" || !/^\/(v1\/)?chat\/completions$/.test(req.url)) return send(res, 404, { error: { message: "not found" } });
    let raw = ""; for await (const chunk of req) raw += chunk;
    const body = JSON.parse(raw);
    if (body.stream) return send(res, 400, { error: { message: "streaming is not supported", type: "invalid_request_error" } });
    const abort = new AbortController();
    res.on("close", () => { if (!res.writableFinished) abort.abort(); }); // client gone: stop generating
    const job = queue.then(() => complete(body, abort.signal));
    queue = job.catch(() => {});
    const [status, out] = await job;
    if (!abort.signal.aborted) send(res, status, out);
  } catch (err) {
    console.error("[server] error:", err);
    if (!res.headersSent) send(res, 500, { error: { message: String(err?.message ?? err), type: "server_error" } });
  }
});
server.requestTimeout = 0; // generations can be long
server.listen(Number(opt.port), opt.host, () => console.log(`READY http://${opt.host}:${server.address().port}/v1`));
for (const sig of ["SIGTERM", "SIGINT"]) process.on(sig, () => { server.close(); process.exit(0); });
