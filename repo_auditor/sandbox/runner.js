// The Deno half of the sandbox: loads Pyodide, locks itself down, then serves the host over stdin/stdout.
//
// Wire format (see wire.py): host -> runner frames are [u32 LE json length][u32 LE payload length][json][payload];
// runner -> host frames carry the session token first: [16-byte token][u32][u32][json][payload]. The token arrives in
// the first (boot) frame and lives only in this closure, so code running in Pyodide cannot produce a frame the host
// accepts even if it finds a way to write to file descriptor 1. Every runner frame also carries `n` (its running count)
// and `re` (the `seq` of the host request it answers), so the host notices a frame out of order or a stale answer.
//
// Own references: the model's code can reach this realm's globals through `js` and patch any of them (prototype
// methods, accessors such as a typed array's `length`, `JSON`, `TextEncoder`, `Object.prototype` setters). Everything
// that touches the token, a frame or the pipes is therefore captured below, before any model code runs, and called
// unbound (`call(fn, this, ...)`), never looked up again: typed arrays are made from our own ArrayBuffers (no
// `subarray`, whose species lookup would hand the frame to the code), headers are null-prototype objects (no
// `toJSON` or setter from `Object.prototype`), and parsed headers are read through `own`.
//
// Lock-down, before any untrusted code runs: read permission revoked (Deno was started with read access only to the
// Pyodide folder and the snapshot file, and nothing else), `Deno`, `process`, storage and network globals deleted
// (private references are kept in this closure), the JS event loop never runs again (so no promise, fetch or dynamic
// import started by the code can complete), console and Pyodide's stdout/stderr routed into the Python-side capture, stdin
// closed. Randomness: Pyodide asks Node's `crypto` module for random bytes (os.urandom, random.seed, uuid4, tempfile),
// which Deno can no longer load once `Deno` is gone; the runner answers that request with the captured Web Crypto
// `getRandomValues` instead, so no removed global comes back. Time limits: a watchdog worker sets Pyodide's interrupt
// buffer when the deadline of the running cell passes; Python then raises KeyboardInterrupt at its next bytecode, and
// the cell reports a TimeoutError with its state kept. The host enforces a hard deadline of its own (see deno.py).

const D = globalThis.Deno;
const uncurry = Function.prototype.bind.bind(Function.prototype.call); // uncurry(f)(self, ...args) = f.call(self, ...)
const TypedArrayPrototype = Object.getPrototypeOf(Uint8Array.prototype);
const getter = (proto, name) => uncurry(Reflect.getOwnPropertyDescriptor(proto, name).get);
const U8 = Uint8Array;
const AB = ArrayBuffer;
const DV = DataView;
const u8set = uncurry(TypedArrayPrototype.set);
const u8length = getter(TypedArrayPrototype, "length");
const u8buffer = getter(TypedArrayPrototype, "buffer");
const u8offset = getter(TypedArrayPrototype, "byteOffset");
const dvGetU32 = uncurry(DataView.prototype.getUint32);
const dvSetU32 = uncurry(DataView.prototype.setUint32);
const encoder = new TextEncoder();
const decoder = new TextDecoder();
const encodeText = uncurry(TextEncoder.prototype.encode);
const decodeText = uncurry(TextDecoder.prototype.decode);
const jsonStringify = JSON.stringify;
const jsonParse = JSON.parse;
const hasOwn = Object.hasOwn;
const min = Math.min;
const dateNow = Date.now;
const perfNow = uncurry(Performance.prototype.now);
const perf = globalThis.performance;
const atomicsStore = Atomics.store;
const atomicsNotify = Atomics.notify;
const stringOf = String;
const sliceText = uncurry(String.prototype.slice);
const cryptoObject = globalThis.crypto;
const getRandomValues = uncurry(Crypto.prototype.getRandomValues);
const stdin = D.stdin;
const stdout = D.stdout;
const readSync = uncurry(Object.getPrototypeOf(stdin).readSync);
const writeSync = uncurry(Object.getPrototypeOf(stdout).writeSync);
const exit = D.exit.bind(D);
const revoke = D.permissions.revokeSync.bind(D.permissions);
const readFileAsync = D.readFile.bind(D);

const own = (obj, key) => (obj !== null && typeof obj === "object" && hasOwn(obj, key) ? obj[key] : undefined);
const now = () => perfNow(perf);

let token = new U8(16);
let framesSent = 0; // `n` of the last frame written
let answering = 0; // `seq` of the host request being answered

// Reads go through one 64 KB buffer so that a small frame costs one system call, not three.
const readBufferBytes = 1 << 16;
const readArrayBuffer = new AB(readBufferBytes);
const readBuffer = new U8(readArrayBuffer);
let readStart = 0;
let readEnd = 0;

function readExact(n) {
  const outBuffer = new AB(n);
  const out = new U8(outBuffer);
  let got = min(readEnd - readStart, n);
  u8set(out, new U8(readArrayBuffer, readStart, got), 0);
  readStart += got;
  while (got < n) {
    if (n - got >= readBufferBytes) {
      const r = readSync(stdin, new U8(outBuffer, got, n - got));
      if (r === null || r === 0) exit(0); // host went away: nothing left to do
      got += r;
      continue;
    }
    const r = readSync(stdin, readBuffer);
    if (r === null || r === 0) exit(0);
    const take = min(r, n - got);
    u8set(out, new U8(readArrayBuffer, 0, take), got);
    readStart = take;
    readEnd = r;
    got += take;
  }
  return out;
}

function readFrame() {
  const head = readExact(8);
  const view = new DV(u8buffer(head));
  const jsonLen = dvGetU32(view, 0, true);
  const binLen = dvGetU32(view, 4, true);
  const msg = jsonParse(decodeText(decoder, readExact(jsonLen)));
  const bin = binLen ? readExact(binLen) : new U8(0);
  return [msg, bin];
}

function writeAll(buffer, length) {
  let off = 0;
  while (off < length) off += writeSync(stdout, new U8(buffer, off, length - off));
}

// `msg` must be a null-prototype object made by the runner; `bin` a Uint8Array made by the runner (or none).
function writeFrame(msg, bin) {
  msg.n = ++framesSent;
  msg.re = answering;
  const json = encodeText(encoder, jsonStringify(msg));
  const jsonLen = u8length(json);
  const binLen = bin === undefined ? 0 : u8length(bin);
  const total = 24 + jsonLen + binLen;
  const buffer = new AB(total); // one write, one wake-up of the host
  const frame = new U8(buffer);
  const view = new DV(buffer);
  u8set(frame, token, 0);
  dvSetU32(view, 16, jsonLen, true);
  dvSetU32(view, 20, binLen, true);
  u8set(frame, json, 24);
  if (binLen) u8set(frame, bin, 24 + jsonLen);
  writeAll(buffer, total);
}

function message(op) {
  return { __proto__: null, op };
}

function errorText(err) {
  try {
    return sliceText(stringOf(err && err.stack || err), 0, 4000);
  } catch {
    return "an error that could not be described";
  }
}

// Pyodide's random bytes (Emscripten's randomFill) come from require("node:crypto").randomFillSync under Deno.
function randomFillSync(view) {
  const buffer = u8buffer(view);
  const start = u8offset(view);
  const length = u8length(view);
  for (let off = 0; off < length; off += 65536) { // getRandomValues fills at most 64 KB per call
    getRandomValues(cryptoObject, new U8(buffer, start + off, min(65536, length - off)));
  }
  return view;
}

async function answerRandomRequests() {
  const { default: Module } = await import("node:module");
  const load = Module._load;
  const shim = Object.freeze({ __proto__: null, randomFillSync });
  Module._load = function (request, parent, isMain) {
    if (request === "node:crypto" || request === "crypto") return shim;
    return load.call(this, request, parent, isMain);
  };
}

function hexToBytes(hex) {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function pyString(text) {
  return JSON.stringify(text); // a JSON string literal is a valid Python string literal
}

function installModules(py, boot) {
  py.runPython(`
import sys, types
def _ra_module(name, source, filename):
    module = types.ModuleType(name)
    module.__file__ = filename
    sys.modules[name] = module
    exec(compile(source, filename, "exec"), module.__dict__)
_ra_module("_ra_values", ${pyString(boot.values)}, "<repo_auditor sandbox>")
_ra_module("_ra_inside", ${pyString(boot.inside)}, "<repo_auditor sandbox>")
del _ra_module
`);
}

const WATCHDOG = `
self.onmessage = (event) => {
  const ctrl = new Int32Array(event.data.ctrl, 0, 2);
  const deadline = new Float64Array(event.data.ctrl, 8, 1);
  const flag = new Uint8Array(event.data.interrupt);
  for (;;) {
    const gen = Atomics.load(ctrl, 0);
    if (gen === 0) { Atomics.wait(ctrl, 0, 0); continue; }
    const left = deadline[0] - Date.now();
    if (left > 0) { Atomics.wait(ctrl, 0, gen, left); continue; }
    flag[0] = 2; // SIGINT: Python raises KeyboardInterrupt; repeated so a bare except cannot outlast it
    if (Atomics.load(ctrl, 0) !== gen) flag[0] = 0;
    Atomics.wait(ctrl, 0, gen, 100);
  }
};`;

// Globals sandboxed code could use to reach the host: Deno itself, Node's process (its stdout is our protocol channel),
// storage that Deno persists under DENO_DIR without any permission (a channel between sessions), the network, workers.
const HIDDEN_GLOBALS = ["Deno", "nodeBootstrap", "process", "localStorage", "sessionStorage", "caches", "fetch",
  "WebSocket", "WebSocketStream", "EventSource", "Worker", "BroadcastChannel", "navigator"];

function hideGlobals() {
  for (const name of HIDDEN_GLOBALS) {
    if (!Reflect.deleteProperty(globalThis, name) || name in globalThis) {
      Object.defineProperty(globalThis, name, { value: undefined, writable: false, configurable: false });
    }
  }
}

function makeRawQueue(limit) {
  // Writes that bypass sys.stdout (os.write(1, ...), C-level output, js.console) arrive while Python may not hold
  // its GIL, so they are queued here (bounded) and handed to the capture when the cell ends.
  let parts = [];
  let size = 0;
  let dropped = 0;
  return {
    push(text) {
      if (size + text.length > limit) { dropped += text.length; return; }
      parts.push(text);
      size += text.length;
    },
    take() {
      let text = parts.join("");
      if (dropped) text += `\n[${dropped} characters written past the raw output buffer were dropped]\n`;
      parts = []; size = 0; dropped = 0;
      return text;
    },
  };
}

async function main() {
  const timings = { __proto__: null, booted: now() }; // ms since the process started, reported to the host
  const [boot] = readFrame();
  token = hexToBytes(boot.token);
  let py;
  try {
    // The snapshot (~30 MB) is read while the Pyodide module loads and its WebAssembly compiles.
    const snapshot = boot.mode === "run" && boot.snapshot
      ? readFileAsync(boot.snapshot).then((bytes) => {
        timings.snapshot_read = now();
        return bytes.subarray(boot.snapshot_offset);
      })
      : null;
    const { loadPyodide } = await import(boot.pyodide_module);
    timings.imported = now();
    const options = { indexURL: boot.pyodide_dir, checkAPIVersion: true, stdin: () => null };
    if (boot.mode === "snapshot") options._makeSnapshot = true;
    if (snapshot) options._loadSnapshot = snapshot;
    py = await loadPyodide(options);
    timings.pyodide_loaded = now();
    if (boot.mode === "snapshot" || !boot.snapshot) installModules(py, boot);
    if (boot.mode === "snapshot") {
      writeFrame(message("snapshot"), py.makeMemorySnapshot());
      exit(0);
    }
    await answerRandomRequests();
    py.runPython("import _ra_inside");
  } catch (err) {
    const fatal = message("fatal");
    fatal.message = errorText(err);
    writeFrame(fatal);
    exit(1);
  }

  const inside = py.pyimport("_ra_inside");
  const runCell = inside.run_cell;
  const installTool = inside.install_tool;
  const setVariable = inside.set_variable;

  function hostCall(payload) {
    if (typeof payload !== "string") throw new TypeError("sandbox protocol: a tool call must be a string");
    writeFrame(message("call"), encodeText(encoder, payload));
    const [msg, bin] = readFrame();
    if (own(msg, "op") !== "reply") throw new Error("sandbox protocol: expected a reply");
    return decodeText(decoder, bin);
  }

  const raw = makeRawQueue(1 << 20);
  const streamDecoder = new TextDecoder();
  const sink = { write: (buf) => { raw.push(streamDecoder.decode(buf, { stream: true })); return buf.length; } };
  py.setStdout(sink);
  py.setStderr(sink);
  py.setStdin({ error: true });
  const say = (...parts) => raw.push(parts.map(String).join(" ") + "\n");
  globalThis.console = { log: say, info: say, warn: say, error: say, debug: say, trace: say, dir: say };

  const interrupt = new U8(new SharedArrayBuffer(1));
  py.setInterruptBuffer(interrupt);
  const ctrlBuffer = new SharedArrayBuffer(16);
  const ctrl = new Int32Array(ctrlBuffer, 0, 2);
  const deadline = new Float64Array(ctrlBuffer, 8, 1);

  revoke({ name: "read" });
  const watchdogUrl = URL.createObjectURL(new Blob([WATCHDOG], { type: "text/javascript" }));
  const watchdog = new Worker(watchdogUrl, { type: "module" });
  watchdog.postMessage({ ctrl: ctrlBuffer, interrupt: interrupt.buffer });
  hideGlobals();

  inside.boot(hostCall, () => raw.take());
  timings.ready = now();
  const ready = message("ready");
  ready.timings = timings;
  writeFrame(ready);

  let generation = 0;
  for (;;) {
    const [msg, bin] = readFrame();
    const op = own(msg, "op");
    answering = own(msg, "seq");
    if (op === "exec") {
      const timeout = own(msg, "timeout");
      interrupt[0] = 0;
      generation = (generation % 2000000000) + 1;
      deadline[0] = dateNow() + timeout * 1000;
      atomicsStore(ctrl, 0, generation);
      atomicsNotify(ctrl, 0);
      let out;
      try {
        out = runCell(own(msg, "code"), own(msg, "limit"), timeout);
        if (typeof out !== "string") throw new TypeError("the cell's result is not a string");
      } catch (err) {
        // Python itself is in an unknown state: tell the host and stop, so that it starts a fresh runtime.
        const fatal = message("fatal");
        fatal.message = errorText(err);
        writeFrame(fatal);
        exit(1);
      }
      atomicsStore(ctrl, 0, 0);
      atomicsNotify(ctrl, 0);
      interrupt[0] = 0;
      writeFrame(message("result"), encodeText(encoder, out));
    } else if (op === "tool" || op === "var") {
      const done = message("done");
      try {
        if (op === "tool") installTool(decodeText(decoder, bin));
        else setVariable(own(msg, "name"), own(msg, "kind"), bin);
      } catch (err) {
        done.error = errorText(err);
      }
      writeFrame(done);
    } else if (op === "ping") {
      writeFrame(message("pong"));
    } else {
      const done = message("done");
      done.error = "unknown op";
      writeFrame(done);
    }
  }
}

await main();
