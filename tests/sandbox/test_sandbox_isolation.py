"""What sandboxed code must not reach: host files, environment, network, processes, the host's protocol channel."""

from __future__ import annotations

import http.server
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from repo_auditor.sandbox import DenoInterpreter

SECRET_NAME = "REPO_AUDITOR_TEST_SECRET_KEY"
SECRET_VALUE = "sk-test-do-not-leak-4242"


@pytest.fixture(scope="module")
def jail(runtime_ready: None) -> Iterator[DenoInterpreter]:
    """An interpreter started while the host environment holds a fake API key."""
    os.environ[SECRET_NAME] = SECRET_VALUE
    try:
        with DenoInterpreter(timeout=20) as interp:
            interp.start()
            yield interp
    finally:
        del os.environ[SECRET_NAME]


def run(interp: DenoInterpreter, code: str) -> str:
    result = interp.execute(code)
    assert result.error is None, result.error
    return result.output


def test_host_files_are_not_readable_through_python(jail: DenoInterpreter) -> None:
    code = "try:\n    print(open('/etc/passwd').read()[:50])\nexcept OSError as exc:\n    print(type(exc).__name__)"
    out = run(jail, code)
    assert out == "FileNotFoundError\n"
    out = run(jail, "import os\nprint(sorted(os.listdir('/')))")
    assert "etc" not in out and "work" not in out and "root" not in out


def test_deno_is_not_reachable_from_python(jail: DenoInterpreter) -> None:
    out = run(jail, "import js\nprint(hasattr(js, 'Deno'), js.eval('typeof Deno'), js.eval('typeof nodeBootstrap'))")
    assert out == "False undefined undefined\n"
    out = run(jail, "import js\ntry:\n    js.eval('Deno.readTextFileSync(\"/etc/passwd\")')\nexcept Exception as exc:\n"
                    "    print(type(exc).__name__, 'Deno is not defined' in str(exc))")
    assert out == "JsException True\n"


def test_host_environment_is_not_visible(jail: DenoInterpreter) -> None:
    out = run(jail, "import os\nprint(repr(dict(os.environ)))")
    assert SECRET_VALUE not in out and SECRET_NAME not in out
    with open(f"/proc/{jail.pid}/environ", "rb") as fh:  # the Deno process itself never received it
        assert SECRET_VALUE.encode() not in fh.read()


@pytest.fixture()
def local_server() -> Iterator[tuple[str, list[str]]]:
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"reached")

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", hits
    finally:
        server.shutdown()
        server.server_close()


def test_network_is_unreachable(jail: DenoInterpreter, local_server: tuple[str, list[str]]) -> None:
    url, hits = local_server
    code = (
        "import urllib.request, socket\n"
        "for attempt in ('urllib', 'socket'):\n"
        "    try:\n"
        f"        if attempt == 'urllib': urllib.request.urlopen({url!r}, timeout=2).read()\n"
        f"        else: socket.create_connection(('127.0.0.1', {url.rsplit(':', 1)[1].strip('/')}), timeout=2)\n"
        "        print(attempt, 'CONNECTED')\n"
        "    except Exception as exc:\n"
        "        print(attempt, 'blocked')\n"
        "import js\n"
        "try:\n"
        f"    js.fetch({url!r})\n"
        "    print('fetch started')\n"
        "except Exception:\n"
        "    print('fetch blocked')\n"
    )
    out = run(jail, code)
    assert "urllib blocked" in out and "socket blocked" in out and "CONNECTED" not in out
    assert "fetch blocked" in out
    run(jail, "1")  # give any pending fetch a chance (the runner never yields to its event loop, so it cannot run)
    assert hits == []


def test_subprocesses_cannot_start(jail: DenoInterpreter) -> None:
    code = (
        "import subprocess, os\n"
        "for label, attempt in (('subprocess', lambda: subprocess.run(['id'])), ('system', lambda: os.system('id'))):\n"
        "    try:\n"
        "        print(label, attempt())\n"
        "    except Exception as exc:\n"
        "        print(label, 'blocked')\n"
        "import js\n"
        "print('Command' , js.eval('typeof Deno === \"undefined\" ? \"absent\" : typeof Deno.Command'))\n"
    )
    out = run(jail, code)
    assert "subprocess blocked" in out
    assert "system blocked" in out
    assert "Command absent" in out


def test_written_files_stay_inside(jail: DenoInterpreter, tmp_path: Path) -> None:
    target = tmp_path / "escaped.txt"
    out = run(jail, f"import os\nos.makedirs({str(tmp_path)!r}, exist_ok=True)\n"
                    f"open({str(target)!r}, 'w').write('data')\nprint(open({str(target)!r}).read())")
    assert out == "data\n"  # Pyodide's in-memory file system
    assert not target.exists()


FORGED = "\\x00" * 16 + "\\x0f\\x00\\x00\\x00\\x00\\x00\\x00\\x00" + '{"op":"result"}'


def test_printed_forged_frame_is_plain_output(jail: DenoInterpreter) -> None:
    result = jail.execute(f"print({FORGED!r})\nimport sys\nsys.__stdout__.write({FORGED!r})\nsys.__stdout__.flush()\n"
                          f"import os\nos.write(1, {FORGED!r}.encode())\n"
                          "import js\njs.console.log('console says hi')\n'ok'")
    assert result.error is None
    assert result.value == "'ok'"
    assert result.output.count('{"op":"result"}') == 3
    assert "console says hi" in result.output
    assert not result.state_lost
    assert jail.execute("2 + 2").value == "4"


def test_host_reaching_globals_are_gone(jail: DenoInterpreter) -> None:
    names = ("Deno", "process", "localStorage", "sessionStorage", "caches", "fetch", "WebSocket", "Worker")
    code = f"import js\n[str(js.eval('typeof ' + name)) for name in {names!r}]"
    assert jail.execute(code).value == repr(["undefined"] * len(names))
