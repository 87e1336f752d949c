"""Task sets with ground truth for the real-model evaluation (maintainer tooling, issue 18).

Three sets, each built into a folder on the fly (``build(set_name, root)``), so the ground truth is computed from the
very files the model sees:

* ``planted``: five small repositories, each with one planted bug (SQL injection, command injection, path traversal,
  a missing authorization check, a race on a shared balance) among decoys that do the same thing safely. Expected: a
  verified finding at the bug's lines.
* ``repoqa``: "find the function that ..." tasks generated mechanically from real code (modules of this Python's
  standard library): each function is described by its docstring's first line without its name; expected: its path
  and a line inside its definition, and its name in the answer.
* ``config``: "where is X configured" over a small service whose settings are spread over several files.

A task's ``expect`` is a path and a line range; a citation (finding or ``path:line`` in the answer) whose range
overlaps it counts as the location found. ``facts`` are words the answer must contain (case-insensitive).
"""

from __future__ import annotations

import ast
import random
import shutil
import sysconfig
from dataclasses import dataclass, field
from pathlib import Path

SETS = ("planted", "repoqa", "config")


@dataclass(frozen=True)
class Expect:
    path: str
    start: int
    end: int


@dataclass(frozen=True)
class Task:
    id: str
    set: str
    repo: Path
    question: str
    expect: Expect
    facts: tuple[str, ...] = ()
    wants_finding: bool = False  # a verified finding at ``expect`` is part of the score (planted bugs)
    notes: dict = field(default_factory=dict)


def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text.lstrip("\n"))


def _locate(root: Path, rel: str, marker: str, span: int = 1) -> Expect:
    """The line of ``marker`` in ``rel`` (exactly one occurrence), as an expected range of ``span`` lines."""
    lines = (root / rel).read_text().splitlines()
    hits = [i for i, line in enumerate(lines, 1) if marker in line]
    if len(hits) != 1:
        raise AssertionError(f"{rel}: marker {marker!r} found {len(hits)} times")
    return Expect(rel, hits[0], hits[0] + span - 1)


# ------------------------------------------------------------------------------------------------ planted bugs

_COMMON = {
    "README.md": "# {name}\n\nA small service used to evaluate repo_auditor.\n",
    "app/__init__.py": "",
}

PLANTED: list[dict] = [
    {
        "id": "sql-injection", "question": "Where is user input passed to SQL without parameters?",
        "files": {
            "app/db.py": '''
import sqlite3


def connect(path):
    return sqlite3.connect(path)


def order_by_id(conn, order_id):
    return conn.execute("SELECT * FROM orders WHERE id = ?", (order_id,)).fetchone()


def search_products(conn, term):
    sql = "SELECT id, name FROM products WHERE name LIKE '%" + term + "%'"
    return conn.execute(sql).fetchall()


def count_users(conn):
    return conn.execute("SELECT COUNT(*) FROM users").fetchone()[0]
''',
            "app/web.py": '''
from app import db


def search(request, conn):
    return db.search_products(conn, request.args["q"])


def order(request, conn):
    return db.order_by_id(conn, int(request.args["id"]))
''',
        },
        "bug": ("app/db.py", "WHERE name LIKE '%\" + term", 2), "facts": ("search_products",),
    },
    {
        "id": "command-injection", "question": "Can a request make the server run a shell command of its choosing?",
        "files": {
            "app/tools.py": '''
import shlex
import subprocess


def disk_usage(folder):
    return subprocess.run(["du", "-sh", folder], capture_output=True, text=True).stdout


def ping(host):
    return subprocess.run(f"ping -c 1 {host}", shell=True, capture_output=True, text=True).stdout


def quoted_echo(text):
    return subprocess.run("echo " + shlex.quote(text), shell=True, capture_output=True, text=True).stdout
''',
            "app/web.py": '''
from app import tools


def ping_view(request):
    return tools.ping(request.args["host"])


def usage_view(request):
    return tools.disk_usage("/srv/data")
''',
        },
        "bug": ("app/tools.py", 'f"ping -c 1 {host}", shell=True', 1), "facts": ("ping",),
    },
    {
        "id": "path-traversal", "question": "Can a user read files outside the uploads folder?",
        "files": {
            "app/files.py": '''
import os

UPLOADS = "/srv/uploads"


def read_upload(name):
    path = os.path.join(UPLOADS, name)
    with open(path, "rb") as handle:
        return handle.read()


def read_avatar(user_id):
    path = os.path.join(UPLOADS, "avatars", f"{int(user_id)}.png")
    with open(path, "rb") as handle:
        return handle.read()
''',
            "app/web.py": '''
from app import files


def download(request):
    return files.read_upload(request.args["name"])


def avatar(request):
    return files.read_avatar(request.args["user"])
''',
        },
        "bug": ("app/files.py", "path = os.path.join(UPLOADS, name)", 3), "facts": ("read_upload",),
    },
    {
        "id": "missing-auth", "question": "Is there an admin action that does not check that the caller is an admin?",
        "files": {
            "app/auth.py": '''
import functools


class Forbidden(Exception):
    pass


def require_admin(view):
    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user or not request.user.is_admin:
            raise Forbidden(view.__name__)
        return view(request, *args, **kwargs)

    return wrapper
''',
            "app/admin.py": '''
from app.auth import require_admin


@require_admin
def list_users(request, store):
    return store.users()


@require_admin
def ban_user(request, store):
    store.ban(request.args["user"])


def delete_user(request, store):
    store.delete(request.args["user"])


@require_admin
def export_audit_log(request, store):
    return store.audit_log()
''',
        },
        "bug": ("app/admin.py", "def delete_user(request, store):", 2), "facts": ("delete_user",),
    },
    {
        "id": "race", "question": "Can two concurrent withdrawals overdraw an account?",
        "files": {
            "app/bank.py": '''
import threading


class Account:
    def __init__(self, balance):
        self.balance = balance
        self.lock = threading.Lock()

    def deposit(self, amount):
        with self.lock:
            self.balance += amount

    def withdraw(self, amount):
        if self.balance >= amount:
            self.balance -= amount
            return True
        return False

    def transfer_to(self, other, amount):
        with self.lock:
            if self.balance < amount:
                return False
            self.balance -= amount
        other.deposit(amount)
        return True
''',
            "app/web.py": '''
from concurrent.futures import ThreadPoolExecutor

POOL = ThreadPoolExecutor(max_workers=8)


def withdraw_view(request, accounts):
    account = accounts[request.args["account"]]
    return POOL.submit(account.withdraw, int(request.args["amount"])).result()
''',
        },
        "bug": ("app/bank.py", "if self.balance >= amount:", 3), "facts": ("withdraw", "lock"),
    },
]


def planted_tasks(root: Path) -> list[Task]:
    tasks = []
    for spec in PLANTED:
        folder = root / "planted" / spec["id"]
        _write(folder, {**{k: v.format(name=spec["id"]) for k, v in _COMMON.items()}, **spec["files"]})
        rel, marker, span = spec["bug"]
        tasks.append(Task(f"planted/{spec['id']}", "planted", folder, spec["question"], _locate(folder, rel, marker, span),
                          tuple(spec["facts"]), wants_finding=True))
    return tasks


# ------------------------------------------------------------------------------------------------ RepoQA-style

REPOQA_MODULES = ("textwrap.py", "shlex.py", "fnmatch.py", "glob.py", "base64.py", "calendar.py", "difflib.py",
                  "string.py", "colorsys.py", "bisect.py")
MIN_DOC_WORDS = 5


def _described_functions(path: Path) -> list[tuple[str, int, int, str]]:
    """(name, first line, last line, docstring first line) of public top-level functions whose docstring's first
    line is a description that does not give the name away."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef) or node.name.startswith("_"):
            continue
        doc = (ast.get_docstring(node) or "").strip().splitlines()
        first = doc[0].strip() if doc else ""
        if len(first.split()) >= MIN_DOC_WORDS and node.name.lower() not in first.lower() and "(" not in first:
            start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            found.append((node.name, start, node.end_lineno or node.lineno, first))
    return found


def repoqa_tasks(root: Path, count: int = 6, seed: int = 0) -> list[Task]:
    """``count`` tasks over a folder of standard-library modules, chosen with ``seed``."""
    folder = root / "repoqa" / "stdlib_slice"
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    candidates = []
    for name in REPOQA_MODULES:
        source = stdlib / name
        if not source.is_file():
            continue
        target = folder / "lib" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        candidates += [(f"lib/{name}", *fn) for fn in _described_functions(target)]
    chosen = random.Random(seed).sample(candidates, min(count, len(candidates)))
    return [Task(f"repoqa/{Path(rel).stem}.{fn}", "repoqa", folder,
                 f'Which function does this: "{doc}"? Give its name, its file and its line.',
                 Expect(rel, start, end), (fn,)) for rel, fn, start, end, doc in chosen]


# ------------------------------------------------------------------------------------------------ configuration

CONFIG_FILES = {
    "README.md": "# orders\n\nThe orders service.\n",
    "orders/__init__.py": "",
    "orders/settings.py": '''
import os

DEBUG = os.environ.get("ORDERS_DEBUG") == "1"
DATABASE_URL = os.environ.get("DATABASE_URL", "postgresql://localhost/orders")
DB_POOL_SIZE = 10
DB_CONNECT_TIMEOUT_SECONDS = 5
CACHE_TTL_SECONDS = 300
''',
    "orders/logging_config.py": '''
LOGGING = {
    "version": 1,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
''',
    "orders/http.py": '''
from orders import settings

ALLOWED_ORIGINS = ["https://shop.example.com", "https://admin.example.com"]
MAX_BODY_BYTES = 1_048_576


def cors_headers(origin):
    if origin in ALLOWED_ORIGINS:
        return {"Access-Control-Allow-Origin": origin}
    return {}
''',
    "orders/db.py": '''
from orders import settings


def connect(driver):
    return driver.connect(settings.DATABASE_URL, timeout=settings.DB_CONNECT_TIMEOUT_SECONDS,
                          pool_size=settings.DB_POOL_SIZE)
''',
}

CONFIG_QUESTIONS = [
    ("db-timeout", "Where is the database connection timeout configured, and what is it?",
     "orders/settings.py", "DB_CONNECT_TIMEOUT_SECONDS = 5", ("DB_CONNECT_TIMEOUT_SECONDS",)),
    ("log-level", "Where is the log level configured, and to which level?",
     "orders/logging_config.py", '"level": "WARNING"', ("warning",)),
    ("cors", "Which origins may call the service from a browser, and where is that set?",
     "orders/http.py", "ALLOWED_ORIGINS = [", ("shop.example.com",)),
]


def config_tasks(root: Path) -> list[Task]:
    folder = root / "config" / "orders"
    _write(folder, CONFIG_FILES)
    return [Task(f"config/{tid}", "config", folder, question, _locate(folder, rel, marker), facts)
            for tid, question, rel, marker, facts in CONFIG_QUESTIONS]


def build(set_name: str, root: Path) -> list[Task]:
    """The tasks of one set, with their repositories written under ``root``."""
    return {"planted": planted_tasks, "repoqa": repoqa_tasks, "config": config_tasks}[set_name](root)
