// The Deno half of the sandbox: loads Pyodide, locks itself down, then serves the host over stdin/stdout.
//
// Wire format (see wire.py): host -> runner frames are [u32 LE json length][u32 LE payload length][json][payload];
// runner -> host frames carry the session token first: [16-byte token][u32][u32][json][payload]. The token arrives in
// the first (boot) frame and lives only in this closure, so code running in Pyodide cannot produce a frame the host
// accepts even if it finds a way to write to file descriptor 1.
//
// Lock-down, before any untrusted code runs: read permission revoked (Deno was started with read access only to the
// Pyodide folder and the snapshot file, and nothing else), `Deno`, `process`, storage and network globals deleted
// (private references are kept in this closure), the JS event loop never runs again (so no promise, fetch or dynamic
// import started by the code can complete), console and Pyodide's stdout/stderr routed into the Python-side capture, stdin
// closed. Time limits: a watchdog worker sets Pyodide's interrupt buffer when the deadline of the running cell passes;
// Python then raises KeyboardInterrupt at its next bytecode, and the cell reports a TimeoutError with its state kept.

const D = globalThis.Deno;
const stdin = D.stdin;
const stdout = D.stdout;
const exit = D.exit.bind(D);
const revoke = D.permissions.revokeSync.bind(D.permissions);
const readFileAsync = D.readFile.bind(D);
const encoder = new TextEncoder();
const decoder = new TextDecoder();

let token = new Uint8Array(16);

// Reads go through one 64 KB buffer so that a small frame costs one system call, not three.
const readBuffer = new Uint8Array(1 << 16);
let readStart = 0;
let readEnd = 0;

function readExact(n) {
  const out = new Uint8Array(n);
  let got = Math.min(readEnd - readStart, n);
  out.set(readBuffer.subarray(readStart, readStart + got));
  readStart += got;
  while (got < n) {
    if (n - got >= readBuffer.length) {
      const r = stdin.readSync(out.subarray(got));
      if (r === null || r === 0) exit(0); // host went away: nothing left to do
      got += r;
      continue;
    }
    const r = stdin.readSync(readBuffer);
    if (r === null || r === 0) exit(0);
    const take = Math.min(r, n - got);
    out.set(readBuffer.subarray(0, take), got);
    readStart = take;
    readEnd = r;
    got += take;
  }
  return out;
}

function readFrame() {
  const head = readExact(8);
  const view = new DataView(head.buffer);
  const jsonLen = view.getUint32(0, true);
  const binLen = view.getUint32(4, true);
  const msg = JSON.parse(decoder.decode(readExact(jsonLen)));
  const bin = binLen ? readExact(binLen) : new Uint8Array(0);
  return [msg, bin];
}

function writeAll(bytes) {
  let off = 0;
  while (off < bytes.length) off += stdout.writeSync(bytes.subarray(off));
}

function writeFrame(msg, bin = new Uint8Array(0)) {
  const json = encoder.encode(JSON.stringify(msg));
  const frame = new Uint8Array(24 + json.length + bin.length); // one write, one wake-up of the host
  frame.set(token, 0);
  const view = new DataView(frame.buffer);
  view.setUint32(16, json.length, true);
  view.setUint32(20, bin.length, true);
  frame.set(json, 24);
  frame.set(bin, 24 + json.length);
  writeAll(frame);
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
  const timings = { booted: performance.now() }; // ms since the process started, reported to the host
  const [boot] = readFrame();
  token = hexToBytes(boot.token);
  let py;
  try {
    // The snapshot (~30 MB) is read while the Pyodide module loads and its WebAssembly compiles.
    const snapshot = boot.mode === "run" && boot.snapshot
      ? readFileAsync(boot.snapshot).then((bytes) => {
        timings.snapshot_read = performance.now();
        return bytes.subarray(boot.snapshot_offset);
      })
      : null;
    const { loadPyodide } = await import(boot.pyodide_module);
    timings.imported = performance.now();
    const options = { indexURL: boot.pyodide_dir, checkAPIVersion: true, stdin: () => null };
    if (boot.mode === "snapshot") options._makeSnapshot = true;
    if (snapshot) options._loadSnapshot = snapshot;
    py = await loadPyodide(options);
    timings.pyodide_loaded = performance.now();
    if (boot.mode === "snapshot" || !boot.snapshot) installModules(py, boot);
    if (boot.mode === "snapshot") {
      writeFrame({ op: "snapshot" }, py.makeMemorySnapshot());
      exit(0);
    }
    py.runPython("import _ra_inside");
  } catch (err) {
    writeFrame({ op: "fatal", message: String(err && err.stack || err).slice(0, 4000) });
    exit(1);
  }

  const inside = py.pyimport("_ra_inside");
  const runCell = inside.run_cell;
  const installTool = inside.install_tool;
  const setVariable = inside.set_variable;

  function hostCall(payload) {
    writeFrame({ op: "call" }, encoder.encode(payload));
    const [msg, bin] = readFrame();
    if (msg.op !== "reply") throw new Error(`sandbox protocol: expected reply, got ${msg.op}`);
    return decoder.decode(bin);
  }

  const raw = makeRawQueue(1 << 20);
  const streamDecoder = new TextDecoder();
  const sink = { write: (buf) => { raw.push(streamDecoder.decode(buf, { stream: true })); return buf.length; } };
  py.setStdout(sink);
  py.setStderr(sink);
  py.setStdin({ error: true });
  const say = (...parts) => raw.push(parts.map(String).join(" ") + "\n");
  globalThis.console = { log: say, info: say, warn: say, error: say, debug: say, trace: say, dir: say };

  const interrupt = new Uint8Array(new SharedArrayBuffer(1));
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
  timings.ready = performance.now();
  writeFrame({ op: "ready", timings });

  let generation = 0;
  for (;;) {
    const [msg, bin] = readFrame();
    if (msg.op === "exec") {
      interrupt[0] = 0;
      generation = (generation % 2000000000) + 1;
      deadline[0] = Date.now() + msg.timeout * 1000;
      Atomics.store(ctrl, 0, generation);
      Atomics.notify(ctrl, 0);
      let out;
      try {
        out = runCell(msg.code, msg.limit, msg.timeout);
      } catch (err) {
        // Python itself is in an unknown state: tell the host and stop, so that it starts a fresh runtime.
        writeFrame({ op: "fatal", message: String(err && err.stack || err).slice(0, 4000) });
        exit(1);
      }
      Atomics.store(ctrl, 0, 0);
      Atomics.notify(ctrl, 0);
      interrupt[0] = 0;
      writeFrame({ op: "result" }, encoder.encode(out));
    } else if (msg.op === "tool" || msg.op === "var") {
      try {
        if (msg.op === "tool") installTool(decoder.decode(bin));
        else setVariable(msg.name, msg.kind, bin);
        writeFrame({ op: "done" });
      } catch (err) {
        writeFrame({ op: "done", error: String(err).slice(0, 4000) });
      }
    } else if (msg.op === "ping") {
      writeFrame({ op: "pong" });
    } else {
      writeFrame({ op: "done", error: `unknown op ${msg.op}` });
    }
  }
}

await main();
