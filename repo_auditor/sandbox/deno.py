"""``DenoInterpreter``: the model's code runs in Pyodide (CPython compiled to WebAssembly) inside a locked-down Deno.

One Deno process per interpreter, owned by it: started by ``start``/``start_background`` or the first ``execute``, ended
by ``shutdown`` (or the context manager). Deno gets no network, environment, subprocess, write, FFI or system access,
and read access only to the Pyodide files and the snapshot, which the runner revokes before running any model code.

Per ``execute``:

* stdout and stderr come back interleaved, capped at ``max_output_chars`` with a head/tail marker (capture is bounded
  inside the sandbox too); a trailing expression's repr is ``value``; errors carry a traceback into ``<cell N>``.
* ``timeout`` (default ``timeout`` of the constructor) covers running the code, tool calls included (starting or
  restarting the runtime first is not counted). When it passes the code gets a KeyboardInterrupt and the result is a
  ``TimeoutError`` with the state kept; from then on tool calls are refused (they raise TimeoutError inside without
  running). If the runtime still does not answer ``grace`` seconds
  later, the process is killed and restarted: ``state_lost`` is set and a note says so.
* That kill is a hard deadline: ``timeout + grace`` after the code was sent. Only a tool call that was already running
  when the time limit passed can move it, to ``grace`` seconds after that call returns, and never beyond
  ``timeout + grace + overrun_cap`` (``TOOL_OVERRUN_CAP_S`` by default). So no cell, whatever it does with tool calls
  and interrupts, runs longer than ``timeout + grace + overrun_cap`` (a host tool is not itself interrupted: one that
  runs past the cap finishes first, then the sandbox is killed).
* Deno's resident memory is watched; above ``max_memory_mb`` the process is killed and restarted (``MemoryError``).
* A crashed runtime (or one whose control channel was written to by the code) is restarted on the spot; tools are
  registered again and input variables re-injected, and the result says the state was lost.
* Nothing from the sandbox is trusted (``untrusted.py``): a tool call that is malformed, too large or too deep raises
  ``ValueError`` inside at the call, without running the tool; a result that is too large is a ``ValueError`` result
  with the state kept; a malformed or too deep result, or a frame out of sequence, means the code tampered with the
  runner, which is restarted (``SandboxError``, ``state_lost``). No value from the sandbox raises on the host.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

from repo_auditor.errors import ConfigurationError, SandboxStartError
from repo_auditor.repository.cache import cache_dir
from repo_auditor.sandbox import bridge, snapshot, untrusted, wire
from repo_auditor.sandbox import runtime as rt
from repo_auditor.sandbox.process import drain, kill, rss_mb
from repo_auditor.sandbox.protocol import ExecutionResult, SubmitCall
from repo_auditor.sandbox.values import dumps

DEFAULT_TIMEOUT_S = 120.0  # generous: a cell may call llm_query several times, each taking seconds
DEFAULT_MAX_OUTPUT_CHARS = 10_000  # what the model sees of one step's output; head and tail are kept
DEFAULT_MAX_MEMORY_MB = 2048  # Pyodide is 32-bit WebAssembly (4 GB at most); stop well before the machine suffers
DEFAULT_GRACE_S = 5.0  # after the time limit, how long the interrupted code may take to unwind before a kill
# How far past ``timeout + grace`` a tool call that was running when the time limit passed may push the hard deadline.
# Such a call (an llm_query begun just before the limit) usually answers within seconds to a minute, and letting it
# finish keeps the model's variables; but the push must be bounded, or a cell's wall time would depend on what the
# host tools do. Tool calls made after the limit are refused and never push it.
TOOL_OVERRUN_CAP_S = 30.0
START_TIMEOUT_S = 60.0  # a snapshot start takes ~0.3-0.5 s, a cold one ~2-4 s; a busy CI box can be much slower

STATE_LOST_NOTE = ("The sandbox was restarted: variables and imports from earlier steps are gone; tools and input "
                   "variables are available again.")


class _MemoryLimitExceeded(Exception):
    pass


class _RuntimeBroken(Exception):
    pass


class _TamperedResult(Exception):
    pass


class DenoInterpreter:
    """Runs the model's Python in Deno + Pyodide with host tools bridged in. See the module docstring."""

    def __init__(
        self,
        *,
        timeout: float = DEFAULT_TIMEOUT_S,
        max_output_chars: int = DEFAULT_MAX_OUTPUT_CHARS,
        max_memory_mb: int = DEFAULT_MAX_MEMORY_MB,
        grace: float = DEFAULT_GRACE_S,
        pyodide_dir: str | os.PathLike[str] | None = None,
        snapshot_dir: str | os.PathLike[str] | None = None,
        use_snapshot: bool = True,
        tools: dict[str, Callable[..., Any]] | None = None,
        variables: dict[str, Any] | None = None,
    ) -> None:
        if timeout <= 0 or grace <= 0:
            raise ConfigurationError(f"timeout and grace must be positive seconds, got {timeout!r} and {grace!r}")
        if max_output_chars < 100:
            raise ConfigurationError(f"max_output_chars must be at least 100, got {max_output_chars!r}")
        if max_memory_mb < 256:
            raise ConfigurationError(
                f"max_memory_mb must be at least 256 (Pyodide needs ~200 MB), got {max_memory_mb!r}")
        self.timeout = float(timeout)
        self.max_output_chars = int(max_output_chars)
        self.max_memory_mb = int(max_memory_mb)
        self.grace = float(grace)
        self.overrun_cap = TOOL_OVERRUN_CAP_S  # see the module docstring; tests lower it
        self._seq = 0  # the last host request's sequence number (see wire.py)
        self._pyodide_dir = pyodide_dir
        self._snapshot_dir = Path(snapshot_dir) if snapshot_dir is not None else None
        self._use_snapshot = use_snapshot
        self._tools: dict[str, Callable[..., Any]] = {}
        self._tool_specs: dict[str, str] = {}
        self._variables: dict[str, tuple[str, bytes]] = {}
        self._lock = threading.RLock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._reader: wire.FrameReader | None = None
        self._stderr_tail: deque[bytes] = deque()
        self._background: threading.Thread | None = None
        self._background_error: BaseException | None = None
        self._ever_started = False
        self._executing = False
        self._deferred: list[tuple[str, dict[str, Any], bytes]] = []
        self.restarts = 0
        self.last_start_seconds: float | None = None
        self.last_snapshot_build_seconds: float | None = None
        self.last_start_timings: dict[str, float] = {}  # runner milestones, ms since the Deno process started
        for name, fn in (tools or {}).items():
            self.register_tool(name, fn)
        if variables:
            self.set_variables(variables)

    # ------------------------------------------------------------------ public API

    @property
    def pid(self) -> int | None:
        """The Deno process id while running (for monitoring; do not signal it yourself)."""
        proc = self._proc
        return proc.pid if proc is not None and proc.poll() is None else None

    def register_tool(self, name: str, fn: Callable[..., Any]) -> None:
        """Expose ``fn`` inside the sandbox as ``name(...)`` with its signature and docstring; works after start too."""
        bridge.check_name(name, "tool")
        spec = bridge.tool_spec(name, fn)
        with self._lock:
            self._tools[name] = fn
            self._tool_specs[name] = spec
            self._setup_or_defer("tool", {}, spec.encode("utf-8"))

    def set_variables(self, variables: dict[str, Any]) -> None:
        """Add input variables (strings travel as raw UTF-8, anything else as JSON); re-injected after a restart."""
        encoded: dict[str, tuple[str, bytes]] = {}
        for name, value in variables.items():
            bridge.check_name(name, "variable")
            if isinstance(value, str):
                encoded[name] = ("str", value.encode("utf-8", errors="surrogatepass"))
            else:
                encoded[name] = ("json", dumps(value, [], name).encode("utf-8"))
        with self._lock:
            self._variables.update(encoded)
            for name, (kind, data) in encoded.items():
                self._setup_or_defer("var", {"name": name, "kind": kind}, data)

    def start(self) -> None:
        """Start the runtime now (idempotent). Raises SandboxStartError if Deno or Pyodide cannot start."""
        with self._lock:
            if not self._alive():
                self._start_locked()

    def start_background(self) -> None:
        """Start in a thread so that start-up overlaps other work; ``execute`` waits for it."""
        with self._lock:
            if self._background is not None or self._alive():
                return
            self._background_error = None
            self._background = threading.Thread(target=self._start_in_background, name="sandbox-start", daemon=True)
            self._background.start()

    def execute(self, code: str, *, timeout: float | None = None) -> ExecutionResult:
        """Run ``code`` in the persistent session; the model's errors come back in the result, never raised."""
        if not isinstance(code, str):
            raise TypeError(f"code must be a str, got {type(code).__name__}")
        limit = self.timeout if timeout is None else float(timeout)
        if limit <= 0:
            raise ConfigurationError(f"timeout must be positive seconds, got {timeout!r}")
        self._join_background()
        t0 = time.monotonic()
        with self._lock:
            notes: list[str] = []
            state_lost = False
            if not self._alive():
                if self._ever_started:
                    state_lost = True
                    notes.append(STATE_LOST_NOTE + f" (the runtime had stopped: {self._exit_description()})")
                    self.restarts += 1
                self._start_locked()
            self._executing = True
            try:
                result = self._run(code, limit, time.monotonic())  # the clock starts once it runs
            except BaseException:
                # Interrupted on the host (Ctrl-C, a tool raising SystemExit...): the runner may still be mid-cell and
                # would answer the next request with this one's result, so it cannot be kept.
                self._stop_locked()
                raise
            finally:
                self._executing = False
            deferred, self._deferred = self._deferred, []
            for op, msg, payload in deferred:  # registered by a tool while the code ran
                self._setup_or_defer(op, msg, payload)
            result.state_lost = result.state_lost or state_lost
            result.notes[:0] = notes
            result.duration = time.monotonic() - t0
            return result

    def shutdown(self) -> None:
        """Stop the runtime (idempotent)."""
        self._join_background(raise_error=False)
        with self._lock:
            self._stop_locked()

    def __enter__(self) -> DenoInterpreter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()

    # ------------------------------------------------------------------ running code

    def _run(self, code: str, limit: float, t0: float) -> ExecutionResult:
        """Run one cell; ``t0`` is when the cell's clock starts (after any start-up of the runtime)."""
        assert self._proc is not None and self._reader is not None
        soft = t0 + limit  # the runner interrupts the code here; tool calls after it are refused
        hard = soft + self.grace  # the host kills the runtime here
        cap = hard + self.overrun_cap  # and no tool call moves ``hard`` past this
        try:
            seq = self._request({"op": "exec", "code": code, "limit": self.max_output_chars, "timeout": limit})
            while True:
                oversize = 0  # the size of a payload over untrusted.MAX_VALUE_BYTES, which the reader dropped
                try:
                    msg, payload = self._reader.read(hard, self._check_memory, untrusted.MAX_VALUE_BYTES)
                except wire.OversizedPayloadError as exc:
                    msg, payload, oversize = exc.msg, b"", exc.size
                if msg["re"] != seq:
                    raise wire.ForgedFrameError(f"a {msg['op']} frame answers request {msg['re']}, not {seq}")
                op = msg["op"]
                if op == "call":
                    now = time.monotonic()
                    if now >= hard:  # a stream of refused calls must not keep the reader from its deadline
                        raise wire.DeadlineError("tool calls past the hard deadline")
                    if now >= soft:
                        reply = bridge.error_reply("TimeoutError", f"the step's time limit of {limit:g} s has passed; "
                                                   "tools are not run any more in this step")
                    else:
                        reply = self._tool_reply(payload, oversize)
                        hard = max(hard, min(time.monotonic() + self.grace, cap))
                    self._write({"op": "reply", "seq": seq}, reply)
                    continue
                if op == "result":
                    return self._result(payload, oversize)
                if op == "fatal":
                    raise _RuntimeBroken(str(msg.get("message", ""))[:500])
                raise wire.ForgedFrameError(f"unexpected message {op!r} during execution")
        except wire.DeadlineError:
            return self._recover(
                "TimeoutError",
                f"TimeoutError: the code did not stop within {limit:g} s (+{self.grace:g} s grace) and the sandbox "
                f"had to be restarted")
        except _MemoryLimitExceeded as exc:
            return self._recover("MemoryError", f"MemoryError: {exc}; the sandbox had to be restarted")
        except wire.ForgedFrameError as exc:
            return self._recover(
                "SandboxError",
                f"SandboxError: the code wrote to the sandbox's private control channel or tampered with its runner "
                f"({exc}); the sandbox was restarted")
        except _TamperedResult as exc:
            return self._recover(
                "SandboxError",
                f"SandboxError: the sandbox returned a malformed result ({exc}), so the code must have changed the "
                f"sandbox's own machinery; it was restarted")
        except _RuntimeBroken as exc:
            return self._recover("SandboxCrashedError",
                                 f"SandboxCrashedError: the Python runtime failed ({exc}); it was restarted")
        except (wire.ChannelClosedError, BrokenPipeError):
            return self._recover(
                "SandboxCrashedError",
                f"SandboxCrashedError: the sandbox process died while running this code ({self._exit_description()}); "
                f"it was restarted")

    def _tool_reply(self, payload: bytes, oversize: int) -> bytes:
        """Run one tool call from the sandbox; a call that is not well formed raises ValueError inside instead."""
        try:
            if oversize:
                raise untrusted.UntrustedValueError(untrusted.too_large("the tool call's arguments", oversize))
            name, args, kwargs = untrusted.parse_call(payload)
        except untrusted.UntrustedValueError as exc:
            return bridge.error_reply("ValueError", str(exc))
        return bridge.call_tool(self._tools, name, args, kwargs)

    def _result(self, payload: bytes, oversize: int) -> ExecutionResult:
        """The checked result; a result too large to take is the model's error (the runner is fine), anything else
        malformed means the runner was tampered with."""
        if oversize:
            return ExecutionResult(
                error_type="ValueError",
                error=f"ValueError: {untrusted.too_large('the step result (SUBMIT values, output and notes)', oversize)}"
                      f"; it was dropped. SUBMIT something smaller (e.g. a summary) and keep large data in variables")
        try:
            data = untrusted.parse_result(payload, self.max_output_chars)
        except untrusted.UntrustedValueError as exc:
            raise _TamperedResult(str(exc)[:300]) from None
        return ExecutionResult(
            output=data.output, value=data.value, error=data.error, error_type=data.error_type,
            submit=SubmitCall(args=data.submit[0], kwargs=data.submit[1]) if data.submit is not None else None,
            notes=data.notes,
        )

    def _recover(self, error_type: str, error: str) -> ExecutionResult:
        """Replace a runtime that cannot continue; the result tells the model what happened and that state is gone."""
        self._stop_locked()
        self.restarts += 1
        self._start_locked()
        return ExecutionResult(error=error, error_type=error_type, state_lost=True, notes=[STATE_LOST_NOTE])

    def _check_memory(self) -> None:
        proc = self._proc
        if proc is None:
            return
        used = rss_mb(proc.pid)
        if used is not None and used > self.max_memory_mb:
            raise _MemoryLimitExceeded(f"the sandbox used {used:,.0f} MB, over the {self.max_memory_mb:,} MB limit")

    # ------------------------------------------------------------------ process lifecycle

    def _alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def _start_in_background(self) -> None:
        try:
            self.start()
        except BaseException as exc:  # re-raised by the next execute/start through _join_background
            self._background_error = exc

    def _join_background(self, raise_error: bool = True) -> None:
        thread = self._background
        if thread is None or thread is threading.current_thread():
            return
        thread.join()
        self._background = None
        error, self._background_error = self._background_error, None
        if error is not None and raise_error:
            raise error

    def _start_locked(self) -> None:
        try:
            self._start_fresh()
        except BaseException:
            self._stop_locked()  # never keep a half-started process around
            raise

    def _start_fresh(self) -> None:
        self._stop_locked()
        t0 = time.monotonic()
        runtime = rt.ensure_runtime(rt.fetch_on_first_use(), self._pyodide_dir)
        snap = None
        if self._use_snapshot:
            folder = self._snapshot_dir or cache_dir("sandbox")
            try:
                folder.mkdir(parents=True, exist_ok=True)
                snap = snapshot.snapshot_path(folder, runtime)
                if not snapshot.is_intact(snap):
                    self.last_snapshot_build_seconds = snapshot.build(runtime, snap)
                else:
                    snapshot.mark_used(snap)
            except OSError:  # the snapshot cannot be written (a full disk, no folder): start without one, slower
                snap = None
        try:
            self._spawn(runtime, snap)
        except SandboxStartError:
            if snap is None:
                raise
            # A snapshot that passes the header check can still be damaged inside: rebuild it once, then give up.
            self._stop_locked()
            snap.unlink(missing_ok=True)
            self.last_snapshot_build_seconds = snapshot.build(runtime, snap)
            self._spawn(runtime, snap)
        self._ever_started = True
        for spec in self._tool_specs.values():
            self._send_setup("tool", {}, spec.encode("utf-8"))
        for name, (kind, data) in self._variables.items():
            self._send_setup("var", {"name": name, "kind": kind}, data)
        self.last_start_seconds = time.monotonic() - t0

    def _spawn(self, runtime: rt.Runtime, snap: Path | None) -> None:
        readable = [runtime.pyodide_dir] + ([snap] if snap is not None else [])
        token = secrets.token_bytes(wire.TOKEN_BYTES)
        try:
            proc = subprocess.Popen(snapshot.deno_command(runtime, readable), stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=rt.runner_env(runtime),
                                    cwd=str(runtime.pyodide_dir))
        except OSError as exc:
            raise SandboxStartError(f"could not run deno at {runtime.deno}: {exc}") from exc
        self._proc = proc
        # If the interpreter is dropped without shutdown (or the host exits), do not leave Deno running: a runner
        # stuck in code that ignores interrupts would never notice that its stdin closed.
        self._finalizer = weakref.finalize(self, kill, proc)
        self._stderr_tail = deque()
        threading.Thread(target=drain, args=(proc.stderr, self._stderr_tail), name="sandbox-stderr",
                         daemon=True).start()
        self._reader = wire.FrameReader(proc.stdout.fileno(), token)
        try:
            self._write(snapshot.boot_message(runtime, token, "run", snap))
            msg, _ = self._reader.read(time.monotonic() + START_TIMEOUT_S)
        except (wire.ChannelClosedError, wire.DeadlineError, wire.ForgedFrameError, BrokenPipeError) as exc:
            raise SandboxStartError(f"the sandbox did not start ({exc}): {self._stderr_text()}") from exc
        if msg.get("op") != "ready":
            raise SandboxStartError(f"the sandbox did not start: {str(msg.get('message', msg))[:2000]}")
        timings = msg.get("timings")
        self.last_start_timings = {str(k): float(v) for k, v in timings.items() if isinstance(v, (int, float))} \
            if isinstance(timings, dict) else {}

    def _stop_locked(self) -> None:
        proc, self._proc, self._reader = self._proc, None, None
        if proc is None:
            return
        self._finalizer.detach()
        try:
            proc.stdin.close()  # the runner exits on end of input
        except OSError:
            pass
        try:
            proc.wait(timeout=0.5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        for stream in (proc.stdout, proc.stderr):
            try:
                stream.close()
            except OSError:
                pass
        self._last_exit = proc.returncode

    def _exit_description(self) -> str:
        proc = self._proc
        code = proc.poll() if proc is not None else getattr(self, "_last_exit", None)
        if code is None:
            return "it stopped answering"
        return f"killed by signal {-code}" if code < 0 else f"exit status {code}"

    # ------------------------------------------------------------------ pipe helpers

    def _write(self, msg: dict[str, Any], payload: bytes = b"") -> None:
        assert self._proc is not None
        wire.write_frame(self._proc.stdin.fileno(), msg, payload)

    def _request(self, msg: dict[str, Any], payload: bytes = b"") -> int:
        """Send a request with the next sequence number; the runner's answer must carry it as ``re``."""
        self._seq += 1
        self._write({**msg, "seq": self._seq}, payload)
        return self._seq

    def _setup_or_defer(self, op: str, msg: dict[str, Any], payload: bytes) -> None:
        """Send a tool or variable now if the runtime is idle; during an execute (a tool registering another tool)
        the runner is waiting for a reply, so it is sent right after. A stopped runtime gets it at its next start."""
        if self._executing:
            self._deferred.append((op, msg, payload))
        elif self._alive():
            self._send_setup(op, msg, payload)

    def _send_setup(self, op: str, msg: dict[str, Any], payload: bytes) -> None:
        assert self._reader is not None
        try:
            seq = self._request({"op": op, **msg}, payload)
            reply, _ = self._reader.read(time.monotonic() + START_TIMEOUT_S)
            if reply["op"] != "done" or reply["re"] != seq:
                raise wire.ForgedFrameError(f"a {reply['op']} frame answering {reply['re']} came for a {op} ({seq})")
        except (wire.ChannelClosedError, wire.DeadlineError, wire.ForgedFrameError, wire.OversizedPayloadError,
                BrokenPipeError) as exc:
            raise SandboxStartError(
                f"the sandbox failed while receiving a {op} ({exc}): {self._stderr_text()}") from exc
        if reply.get("error"):
            raise SandboxStartError(f"the sandbox rejected a {op}: {reply['error']}")

    def _stderr_text(self) -> str:
        text = b"".join(self._stderr_tail).decode("utf-8", "replace").strip()
        return text[-2000:] or "no output from deno"
