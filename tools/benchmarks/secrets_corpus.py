"""A generated corpus of secrets planted in realistic files, for ``tools/bench secrets`` and the redaction tests.

Every value is built at run time from random characters in the shape of a real format (prefix, alphabet, length),
so this file holds no real-looking key literal. ``build_corpus(seed)`` returns ``Sample`` rows: a format, its family,
a file path and text with the secret planted in it, and the secret (the part that must not survive redaction).

Formats are provider tokens (planted in several file syntaxes each, chosen by the seed) and contextual secrets
(passwords in connection strings, ``.netrc``, ``.pgpass``, XML, PHP, Makefiles...), which carry their own file.
"""

# No ``from __future__ import annotations``: tools/bench loads sections without registering them in sys.modules,
# and dataclasses then cannot resolve string annotations.
import base64
import random
import re
import string
from dataclasses import dataclass
from typing import Callable

ALNUM = string.ascii_letters + string.digits
LOWER_ALNUM = string.ascii_lowercase + string.digits
UPPER_ALNUM = string.ascii_uppercase + string.digits
HEX = "0123456789abcdef"
B64 = ALNUM + "+/"
URLSAFE = ALNUM + "-_"
BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l".upper()


@dataclass(frozen=True)
class Sample:
    format: str
    family: str
    path: str
    text: str
    secret: str


class _Gen:
    def __init__(self, rng: random.Random):
        self.rng = rng

    def s(self, alphabet: str, n: int) -> str:
        """``n`` random characters of ``alphabet``, with at least one digit and one letter when the alphabet has both."""
        while True:
            out = "".join(self.rng.choice(alphabet) for _ in range(n))
            if n < 8 or not (set(alphabet) & set(string.digits)) or not (set(alphabet) & set(string.ascii_letters)):
                return out
            if any(c.isdigit() for c in out) and any(c.isalpha() for c in out):
                return out

    def digits(self, n: int) -> str:
        return str(self.rng.randint(1, 9)) + "".join(self.rng.choice(string.digits) for _ in range(n - 1))

    def b64(self, nbytes: int) -> str:
        return base64.b64encode(self.rng.randbytes(nbytes)).decode()

    def password(self) -> str:
        words = ["river", "falcon", "copper", "maple", "orbit", "lantern", "harbor", "ember", "quartz", "willow"]
        return (self.rng.choice(words).capitalize() + self.digits(3) + self.rng.choice("!#%&*@^") +
                self.s(ALNUM, 5))


# Provider token formats: name -> (family, generator). Prefixes are split so no literal here matches a scanner.
def _token_formats(g: _Gen) -> dict[str, tuple[str, Callable[[], str]]]:
    j = "".join
    return {
        "aws_access_key_id": ("cloud", lambda: j(["AK", "IA"]) + g.s("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16)),
        "aws_session_key_id": ("cloud", lambda: j(["AS", "IA"]) + g.s("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16)),
        "github_pat": ("vcs", lambda: j(["gh", "p_"]) + g.s(ALNUM, 36)),
        "github_oauth": ("vcs", lambda: j(["gh", "o_"]) + g.s(ALNUM, 36)),
        "github_app": ("vcs", lambda: j(["gh", "s_"]) + g.s(ALNUM, 36)),
        "github_refresh": ("vcs", lambda: j(["gh", "r_"]) + g.s(ALNUM, 36)),
        "github_fine_grained": ("vcs", lambda: j(["github", "_pat_"]) + g.s(UPPER_ALNUM, 22) + "_" + g.s(ALNUM, 59)),
        "gitlab_pat": ("vcs", lambda: j(["gl", "pat-"]) + g.s(URLSAFE, 20)),
        "gitlab_runner": ("vcs", lambda: j(["gl", "rt-"]) + g.s(URLSAFE, 20)),
        "gitlab_deploy": ("vcs", lambda: j(["gl", "dt-"]) + g.s(URLSAFE, 20)),
        "slack_bot": ("chat", lambda: j(["xo", "xb-"]) + g.digits(11) + "-" + g.digits(13) + "-" + g.s(ALNUM, 24)),
        "slack_user": ("chat", lambda: j(["xo", "xp-"]) + g.digits(11) + "-" + g.digits(12) + "-" + g.digits(13) + "-"
                       + g.s(HEX, 32)),
        "slack_app": ("chat", lambda: j(["xa", "pp-"]) + "1-" + g.s(UPPER_ALNUM, 11) + "-" + g.digits(13) + "-"
                      + g.s(HEX, 64)),
        "slack_webhook": ("chat", lambda: "https://hooks.slack.com/services/T" + g.s(UPPER_ALNUM, 8) + "/B"
                          + g.s(UPPER_ALNUM, 10) + "/" + g.s(ALNUM, 24)),
        "discord_webhook": ("chat", lambda: "https://discord.com/api/webhooks/" + g.digits(18) + "/"
                            + g.s(URLSAFE, 68)),
        "discord_bot": ("chat", lambda: g.rng.choice("MN") + g.s(ALNUM, 25) + "." + g.s(URLSAFE, 6) + "."
                        + g.s(URLSAFE, 38)),
        "telegram_bot": ("chat", lambda: g.digits(10) + ":AA" + g.s(URLSAFE, 33)),
        "google_api_key": ("cloud", lambda: j(["AI", "za"]) + g.s(URLSAFE, 35)),
        "google_oauth_secret": ("cloud", lambda: j(["GOC", "SPX-"]) + g.s(URLSAFE, 28)),
        "stripe_secret": ("payments", lambda: j(["sk", "_live_"]) + g.s(ALNUM, 24)),
        "stripe_test": ("payments", lambda: j(["sk", "_test_"]) + g.s(ALNUM, 99)),
        "stripe_restricted": ("payments", lambda: j(["rk", "_live_"]) + g.s(ALNUM, 24)),
        "square_access": ("payments", lambda: j(["EA", "AA"]) + g.s(URLSAFE, 60)),
        "square_secret": ("payments", lambda: j(["sq0", "csp-"]) + g.s(URLSAFE, 43)),
        "shippo": ("payments", lambda: j(["shippo", "_live_"]) + g.s(HEX, 40)),
        "flutterwave": ("payments", lambda: j(["FLWSECK", "_TEST-"]) + g.s(HEX, 32) + "-X"),
        "anthropic": ("ai", lambda: j(["sk-", "ant-api03-"]) + g.s(URLSAFE, 93) + "AA"),
        "openai_project": ("ai", lambda: j(["sk-", "proj-"]) + g.s(URLSAFE, 74) + j(["T3Blbk", "FJ"]) + g.s(URLSAFE, 74)),
        "openai_legacy": ("ai", lambda: j(["sk-"]) + g.s(ALNUM, 20) + j(["T3Blbk", "FJ"]) + g.s(ALNUM, 20)),
        "openrouter": ("ai", lambda: j(["sk-", "or-v1-"]) + g.s(HEX, 64)),
        "xai": ("ai", lambda: j(["xa", "i-"]) + g.s(ALNUM, 80)),
        "groq": ("ai", lambda: j(["gs", "k_"]) + g.s(ALNUM, 52)),
        "perplexity": ("ai", lambda: j(["pp", "lx-"]) + g.s(ALNUM, 48)),
        "replicate": ("ai", lambda: j(["r8", "_"]) + g.s(ALNUM, 37)),
        "huggingface": ("ai", lambda: j(["h", "f_"]) + g.s(string.ascii_letters, 34)),
        "huggingface_org": ("ai", lambda: j(["api", "_org_"]) + g.s(string.ascii_letters, 34)),
        "langsmith": ("ai", lambda: j(["lsv2", "_pt_"]) + g.s(HEX, 32) + "_" + g.s(HEX, 10)),
        "npm": ("packages", lambda: j(["np", "m_"]) + g.s(ALNUM, 36)),
        "pypi": ("packages", lambda: j(["py", "pi-"]) + "AgEIcHlwaS5vcmc" + g.s(URLSAFE, 70)),
        "rubygems": ("packages", lambda: j(["rubygems", "_"]) + g.s(HEX, 48)),
        "clojars": ("packages", lambda: j(["CLOJARS", "_"]) + g.s(LOWER_ALNUM, 60)),
        "nuget": ("packages", lambda: j(["oy", "2"]) + g.s(LOWER_ALNUM, 43)),
        "dockerhub_pat": ("packages", lambda: j(["dckr", "_pat_"]) + g.s(URLSAFE, 27)),
        "jfrog": ("packages", lambda: j(["AK", "Cp"]) + g.s(ALNUM, 69)),
        "sendgrid": ("email", lambda: j(["S", "G."]) + g.s(URLSAFE, 22) + "." + g.s(URLSAFE, 43)),
        "mailgun_private": ("email", lambda: j(["ke", "y-"]) + g.s(HEX, 32)),
        "mailgun_pub": ("email", lambda: j(["pub", "key-"]) + g.s(HEX, 32)),
        "brevo": ("email", lambda: j(["xkey", "sib-"]) + g.s(HEX, 64) + "-" + g.s(ALNUM, 16)),
        "resend": ("email", lambda: j(["r", "e_"]) + g.s(ALNUM, 8) + "_" + g.s(ALNUM, 24)),
        "twilio_api_key": ("email", lambda: j(["S", "K"]) + g.s(HEX, 32)),
        "vault_service": ("infra", lambda: j(["hv", "s."]) + g.s(URLSAFE, 94)),
        "vault_batch": ("infra", lambda: j(["hv", "b."]) + g.s(URLSAFE, 138)),
        "age_secret_key": ("infra", lambda: j(["AGE-", "SECRET-KEY-1"]) + g.s(BECH32, 58)),
        "digitalocean_pat": ("cloud", lambda: j(["do", "p_v1_"]) + g.s(HEX, 64)),
        "digitalocean_oauth": ("cloud", lambda: j(["do", "o_v1_"]) + g.s(HEX, 64)),
        "digitalocean_refresh": ("cloud", lambda: j(["do", "r_v1_"]) + g.s(HEX, 64)),
        "shopify_access": ("commerce", lambda: j(["shp", "at_"]) + g.s(HEX, 32)),
        "shopify_custom": ("commerce", lambda: j(["shp", "ca_"]) + g.s(HEX, 32)),
        "shopify_private": ("commerce", lambda: j(["shp", "pa_"]) + g.s(HEX, 32)),
        "shopify_shared": ("commerce", lambda: j(["shp", "ss_"]) + g.s(HEX, 32)),
        "databricks": ("data", lambda: j(["da", "pi"]) + g.s(HEX, 32)),
        "grafana_api": ("observability", lambda: j(["eyJr", "Ijoi"]) + g.s(ALNUM, 72) + "=="),
        "grafana_cloud": ("observability", lambda: j(["gl", "c_"]) + g.s(ALNUM, 80) + "="),
        "grafana_service_account": ("observability", lambda: j(["gl", "sa_"]) + g.s(ALNUM, 32) + "_" + g.s(HEX, 8)),
        "linear": ("saas", lambda: j(["lin", "_api_"]) + g.s(ALNUM, 40)),
        "dynatrace": ("observability", lambda: j(["dt0", "c01."]) + g.s(UPPER_ALNUM, 24) + "." + g.s(UPPER_ALNUM, 64)),
        "newrelic_user": ("observability", lambda: j(["NR", "AK-"]) + g.s(UPPER_ALNUM, 27)),
        "newrelic_insert": ("observability", lambda: j(["NR", "II-"]) + g.s(LOWER_ALNUM + "-", 32)),
        "newrelic_browser": ("observability", lambda: j(["NR", "JS-"]) + g.s(HEX, 19)),
        "sentry_user": ("observability", lambda: j(["sntr", "yu_"]) + g.s(HEX, 64)),
        "atlassian": ("saas", lambda: j(["ATA", "TT3"]) + g.s(URLSAFE, 180) + "=" + g.s(HEX, 8)),
        "doppler": ("infra", lambda: j(["dp", ".pt."]) + g.s(ALNUM, 43)),
        "postman": ("saas", lambda: j(["PM", "AK-"]) + g.s(HEX, 24) + "-" + g.s(HEX, 34)),
        "pulumi": ("infra", lambda: j(["pu", "l-"]) + g.s(HEX, 40)),
        "terraform_cloud": ("infra", lambda: g.s(ALNUM, 14) + j([".atl", "asv1."]) + g.s(URLSAFE, 67)),
        "planetscale_token": ("data", lambda: j(["pscale", "_tkn_"]) + g.s(ALNUM, 43)),
        "planetscale_password": ("data", lambda: j(["pscale", "_pw_"]) + g.s(ALNUM, 43)),
        "supabase": ("data", lambda: j(["sb", "p_"]) + g.s(HEX, 40)),
        "render": ("infra", lambda: j(["rn", "d_"]) + g.s(ALNUM, 32)),
        "tailscale": ("infra", lambda: j(["tskey", "-api-"]) + g.s(ALNUM, 16) + "-" + g.s(ALNUM, 33)),
        "buildkite": ("ci", lambda: j(["bk", "ua_"]) + g.s(HEX, 40)),
        "circleci": ("ci", lambda: j(["CCIPAT", "_"]) + g.s(ALNUM, 22) + "_" + g.s(HEX, 40)),
        "sourcegraph": ("vcs", lambda: j(["sg", "p_"]) + g.s(HEX, 16) + "_" + g.s(HEX, 40)),
        "adobe_client_secret": ("saas", lambda: j(["p8", "e-"]) + g.s(ALNUM, 32)),
        "alibaba_access_key": ("cloud", lambda: j(["LT", "AI"]) + g.s(ALNUM, 20)),
        "azure_ad_client_secret": ("cloud", lambda: g.s(ALNUM, 3) + g.digits(1) + "Q~" + g.s(ALNUM + "_~.-", 34)),
        "frameio": ("saas", lambda: j(["fio", "-u-"]) + g.s(URLSAFE, 64)),
        "readme": ("saas", lambda: j(["rd", "me_"]) + g.s(LOWER_ALNUM, 70)),
        "prefect": ("ci", lambda: j(["pn", "u_"]) + g.s(ALNUM, 36)),
        "typeform": ("saas", lambda: j(["tf", "p_"]) + g.s(LOWER_ALNUM, 59)),
        "deno_deploy": ("infra", lambda: j(["dd", "p_"]) + g.s(ALNUM, 36)),
        "flyio": ("infra", lambda: j(["fo", "1_"]) + g.s(URLSAFE, 43)),
        "easypost": ("commerce", lambda: j(["EZ", "AK"]) + g.s(ALNUM, 54)),
        "duffel": ("commerce", lambda: j(["duffel", "_live_"]) + g.s(URLSAFE, 43)),
        "contentful": ("saas", lambda: j(["CFP", "AT-"]) + g.s(URLSAFE, 43)),
        "notion": ("saas", lambda: j(["nt", "n_"]) + g.digits(11) + g.s(ALNUM, 35)),
        "airtable": ("saas", lambda: j(["pa", "t"]) + g.s(ALNUM, 14) + "." + g.s(HEX, 64)),
        "octopus": ("ci", lambda: j(["AP", "I-"]) + g.s(UPPER_ALNUM, 26)),
        "infracost": ("ci", lambda: j(["ic", "o-"]) + g.s(ALNUM, 32)),
        "scalingo": ("infra", lambda: j(["tk", "-us-"]) + g.s(URLSAFE, 48)),
        "onepassword_service": ("infra", lambda: j(["op", "s_"]) + "eyJ" + g.s(ALNUM, 250)),
        "mapbox_secret": ("saas", lambda: j(["s", "k.eyJ"]) + g.s(ALNUM, 60) + "." + g.s(URLSAFE, 22)),
        "jwt": ("auth", lambda: "eyJhbGciOiJIUzI1NiJ9." + base64.urlsafe_b64encode(
            ('{"sub":"' + g.s(ALNUM, 12) + '","iat":' + g.digits(10) + "}").encode()).decode().rstrip("=")
            + "." + g.s(URLSAFE, 43)),
    }


# Where a provider token is planted: (path, template); ``{v}`` is the value and ``{n}`` a variable name.
TOKEN_CONTEXTS = [
    (".env", "# service credentials\n{N}={v}\nDEBUG=false\n"),
    ("config/settings.yaml", "service:\n  region: eu-west-1\n  {n}: {v}\n  retries: 3\n"),
    ("config/app.json", '{{\n  "name": "svc",\n  "{n}": "{v}",\n  "debug": false\n}}\n'),
    ("src/client.py", 'import os\n\nCLIENT_ID = "svc"\n{N} = "{v}"\n\n\ndef connect():\n    return CLIENT_ID\n'),
    ("src/client.ts", "export const config = {{\n  region: 'us-east-1',\n  {n}: '{v}',\n}};\n"),
    ("cmd/main.go", 'package main\n\nconst {n} = "{v}"\n\nfunc main() {{}}\n'),
    ("deploy/run.sh", '#!/bin/sh\nexport {N}="{v}"\nexec ./server\n'),
    ("src/Main.java", 'class Main {{\n  static final String {N} = "{v}";\n}}\n'),
    ("config/app.toml", '[service]\n{n} = "{v}"\nport = 8080\n'),
    ("README.md", "Call the API with:\n\n    curl -H 'X-Key: {v}' https://api.example.com/v1\n"),
    ("src/app.rb", "Service.configure do |c|\n  c.{n} = '{v}'\nend\n"),
    ("config/web.config", '<configuration>\n  <appSettings>\n    <add key="{n}" value="{v}" />\n'
                          '  </appSettings>\n</configuration>\n'),
]


def _token_samples(g: _Gen, per_format: int) -> list[Sample]:
    out = []
    for name, (family, make) in _token_formats(g).items():
        contexts = g.rng.sample(TOKEN_CONTEXTS, per_format)
        for path, template in contexts:
            value = make()
            var = g.rng.choice(["api_token", "service_key", "credentials", "auth", "client_token", "access_key"])
            var = g.rng.choice([var, name.split("_")[0] + "_" + var])
            text = template.format(v=value, n=var, N=var.upper())
            out.append(Sample(name, family, path, text, value))
    return out


def _contextual_samples(g: _Gen) -> list[Sample]:
    """Secrets recognised by where they stand: connection strings, credential files, assignments in each syntax."""
    rows: list[tuple[str, str, str, Callable[[str], str], Callable[[], str]]] = []

    def add(fmt: str, family: str, path: str, template: Callable[[str], str], make: Callable[[], str] = g.password):
        rows.append((fmt, family, path, template, make))

    user = "app_" + g.s(string.ascii_lowercase, 5)
    b64_40 = lambda: g.s(B64, 40)  # noqa: E731
    add("env_password", "config", ".env", lambda v: f"DB_HOST=db.internal\nDB_PASSWORD={v}\n")
    add("env_quoted", "config", "deploy/prod.env", lambda v: f'export SECRET_KEY="{v}"\n')
    add("yaml_password", "config", "config/database.yml", lambda v: f"production:\n  adapter: postgresql\n  password: {v}\n")
    add("yaml_quoted", "config", "values.yaml", lambda v: f"auth:\n  adminPassword: \"{v}\"\n")
    add("json_password", "config", "appsettings.json", lambda v: f'{{"Database": {{"Password": "{v}"}}}}\n')
    add("json_escaped_newlines", "config", "fixtures/payload.json",
        lambda v: '{"body": "{\\n  \\"user\\": \\"admin\\",\\n  \\"password\\": \\"' + v + '\\"\\n}"}\n')
    add("xml_element_multiline", "config", "conf/server.xml",
        lambda v: f"<datasource>\n  <username>{user}</username>\n  <password>\n    {v}\n  </password>\n</datasource>\n")
    add("xml_element", "config", "pom.xml", lambda v: f"<server>\n  <id>repo</id>\n  <password>{v}</password>\n</server>\n")
    add("xml_attribute", "config", "conf/context.xml",
        lambda v: f'<Resource name="jdbc/app" username="{user}" password="{v}" />\n')
    add("php_concat", "source", "config.php", lambda v: f"<?php\n$db_password = '';\n$db_password .= '{v}';\n")
    add("php_array", "source", "wp-config.php", lambda v: f"<?php\ndefine('DB_PASSWORD', '{v}');\n")
    add("php_arrow", "source", "config/db.php", lambda v: f"<?php\nreturn ['user' => 'app', 'password' => '{v}'];\n")
    add("java_setproperty", "source", "src/Boot.java",
        lambda v: f'class Boot {{\n  void init() {{\n    System.setProperty("db.password", "{v}");\n  }}\n}}\n')
    add("java_properties", "config", "application.properties",
        lambda v: f"spring.datasource.url=jdbc:postgresql://db/app\nspring.datasource.password={v}\n")
    add("makefile_immediate", "build", "Makefile", lambda v: f"REGISTRY ::= ghcr.io\nREGISTRY_PASSWORD ::= {v}\n")
    add("makefile_conditional", "build", "Makefile", lambda v: f"DEPLOY_TOKEN ?= {v}\nall:\n\t@echo ok\n")
    add("go_var_typed", "source", "internal/db.go", lambda v: f'package db\n\nvar dbPassword string = "{v}"\n')
    add("go_short_assign", "source", "internal/auth.go", lambda v: f'package auth\n\nfunc f() {{\n\tapiSecret := "{v}"\n}}\n')
    add("rust_const", "source", "src/main.rs", lambda v: f'const API_SECRET: &str = "{v}";\n')
    add("csharp_const", "source", "Settings.cs", lambda v: f'public const string ApiPassword = "{v}";\n')
    add("kotlin_val", "source", "App.kt", lambda v: f'val clientSecret = "{v}"\n')
    add("python_kwarg", "source", "deploy.py", lambda v: f'conn = connect(host="db", user="{user}", password="{v}")\n')
    add("python_dict_item", "source", "settings.py", lambda v: f'DATABASES["default"]["PASSWORD"] = "{v}"\n')
    add("js_object", "source", "db.js", lambda v: f"const pool = new Pool({{ user: '{user}', password: '{v}' }});\n")
    add("terraform", "infra", "main.tf", lambda v: f'resource "aws_db_instance" "db" {{\n  password = "{v}"\n}}\n')
    add("docker_env", "infra", "Dockerfile", lambda v: f"FROM alpine\nENV ADMIN_PASSWORD={v}\n")
    add("docker_run", "infra", "scripts/run.sh", lambda v: f"docker run -e POSTGRES_PASSWORD={v} postgres\n")
    add("compose", "infra", "docker-compose.yml",
        lambda v: f"services:\n  db:\n    environment:\n      - MYSQL_ROOT_PASSWORD={v}\n")
    add("ini_file", "config", "setup.cfg", lambda v: f"[server]\nhost = example.org\npassword = {v}\n")
    add("netrc", "credentials", ".netrc", lambda v: f"machine api.example.com\n  login {user}\n  password {v}\n")
    add("netrc_oneline", "credentials", "home/.netrc", lambda v: f"machine git.example.com login {user} password {v}\n")
    add("pgpass", "credentials", ".pgpass", lambda v: f"db.example.com:5432:app:{user}:{v}\n")
    add("htpasswd_apr1", "credentials", ".htpasswd", lambda v: f"{user}:{v}\n",
        lambda: "$apr1$" + g.s(ALNUM, 8) + "$" + g.s(ALNUM + "./", 22))
    add("htpasswd_bcrypt", "credentials", "conf/.htpasswd", lambda v: f"{user}:{v}\n",
        lambda: "$2y$10$" + g.s(ALNUM + "./", 53))
    add("htpasswd_sha", "credentials", "auth/.htpasswd", lambda v: f"{user}:{v}\n", lambda: "{SHA}" + g.b64(20))
    add("jdbc_mysql_query", "connection", "conf/db.properties",
        lambda v: f"db.url=jdbc:mysql://db:3306/app?user={user}&password={v}&useSSL=true\n")
    add("jdbc_sqlserver", "connection", "src/Db.java",
        lambda v: f'String url = "jdbc:sqlserver://db:1433;databaseName=app;user={user};password={v};";\n')
    add("ado_sqlserver", "connection", "appsettings.Production.json",
        lambda v: f'{{"ConnectionStrings": {{"Main": "Server=tcp:db,1433;Database=app;User Id={user};Password={v};"}}}}\n')
    add("odbc_pwd", "connection", "etl/load.py",
        lambda v: f'cs = "DRIVER={{ODBC Driver 18}};SERVER=db;UID={user};PWD={v}"\n')
    add("azure_storage", "connection", "local.settings.json",
        lambda v: '{"AzureWebJobsStorage": "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=' + v
        + ';EndpointSuffix=core.windows.net"}\n', lambda: g.b64(64))
    add("azure_servicebus", "connection", "config/bus.yaml",
        lambda v: f"bus: Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=root;SharedAccessKey={v}\n",
        lambda: g.b64(32))
    add("azure_sas_url", "connection", "scripts/upload.sh",
        lambda v: f'curl -X PUT "https://acct.blob.core.windows.net/c/f?sv=2022-11-02&sp=rw&sig={v}"\n',
        lambda: g.b64(32).replace("+", "%2B").replace("/", "%2F"))
    add("sshpass", "shell", "scripts/deploy.sh", lambda v: f"sshpass -p '{v}' ssh {user}@host uptime\n")
    add("sshpass_unquoted", "shell", "scripts/sync.sh", lambda v: f"sshpass -p {v} rsync -a . host:/srv\n")
    add("mysql_cli", "shell", "scripts/backup.sh", lambda v: f"mysqldump -u root -p{v} app > dump.sql\n")
    add("curl_user", "shell", "scripts/api.sh", lambda v: f"curl -u {user}:{v} https://api.example.com/\n")
    add("cli_password_flag", "shell", "ci/login.sh", lambda v: f"docker login --username {user} --password {v} ghcr.io\n")
    add("url_postgres", "url", "config.py", lambda v: f'DATABASE_URL = "postgres://{user}:{v}@db.example.com:5432/app"\n')
    add("url_mongodb_srv", "url", "src/db.ts", lambda v: f"const uri = 'mongodb+srv://{user}:{v}@cluster0.example.net/';\n")
    add("url_redis", "url", "config/cache.yml", lambda v: f"cache:\n  url: redis://default:{v}@cache:6379/0\n")
    add("url_amqp", "url", "celeryconfig.py", lambda v: f"broker_url = 'amqp://{user}:{v}@mq:5672//'\n")
    add("git_credentials", "url", ".git-credentials", lambda v: f"https://{user}:{v}@github.com\n",
        lambda: "gh" + "p_" + g.s(ALNUM, 36))
    add("npmrc", "packages", ".npmrc", lambda v: f"//registry.npmjs.org/:_authToken={v}\n",
        lambda: g.s(HEX, 8) + "-" + g.s(HEX, 4) + "-" + g.s(HEX, 4) + "-" + g.s(HEX, 4) + "-" + g.s(HEX, 12))
    add("pypirc", "packages", ".pypirc", lambda v: f"[pypi]\nusername = __token__\npassword = {v}\n")
    add("docker_config_auth", "packages", ".docker/config.json",
        lambda v: '{"auths": {"ghcr.io": {"auth": "' + v + '"}}}\n',
        lambda: base64.b64encode(f"{user}:{g.password()}".encode()).decode())
    add("basic_auth_header", "http", "tests/http/api.http", lambda v: f"GET /v1/me\nAuthorization: Basic {v}\n",
        lambda: base64.b64encode(f"{user}:{g.password()}".encode()).decode())
    add("bearer_header", "http", "docs/api.md", lambda v: f"    curl -H 'Authorization: Bearer {v}' https://api/\n",
        lambda: g.s(ALNUM, 40))
    add("api_key_header", "http", "client.py", lambda v: f'headers = {{"X-API-Key": "{v}"}}\n', lambda: g.s(ALNUM, 32))
    add("sql_identified_by", "sql", "migrations/001_users.sql",
        lambda v: f"CREATE USER '{user}'@'%' IDENTIFIED BY '{v}';\n")
    add("sql_alter_password", "sql", "db/init.sql", lambda v: f"ALTER USER {user} WITH PASSWORD '{v}';\n")
    add("k8s_secret_data", "infra", "k8s/secret.yaml",
        lambda v: f"apiVersion: v1\nkind: Secret\ndata:\n  password: {v}\n", lambda: g.b64(18))
    add("aws_credentials_file", "cloud", ".aws/credentials",
        lambda v: "[default]\naws_access_key_id = " + "AK" + "IA" + g.s(UPPER_ALNUM, 16)
        + f"\naws_secret_access_key = {v}\n", b64_40)
    add("aws_secret_in_code", "cloud", "src/s3.py",
        lambda v: f's3 = boto3.client("s3", aws_secret_access_key="{v}")\n', b64_40)
    add("rails_secret_key_base", "source", "config/secrets.yml",
        lambda v: f"production:\n  secret_key_base: {v}\n", lambda: g.s(HEX, 128))
    add("django_secret_key", "source", "mysite/settings.py", lambda v: f"SECRET_KEY = '{v}'\n",
        lambda: g.s(string.ascii_lowercase + string.digits + "!@#%^&*(-_=+)", 50))
    add("high_entropy_unnamed", "source", "src/consts.py", lambda v: f'SIGNING_SALT = "{v}"\n', lambda: g.s(ALNUM, 32))
    add("private_key_rsa", "keys", "deploy/id_rsa", lambda v: v, lambda: _pem(g, "RSA PRIVATE KEY"))
    add("private_key_openssh", "keys", "keys/id_ed25519", lambda v: v, lambda: _pem(g, "OPENSSH PRIVATE KEY"))
    add("private_key_ec", "keys", "certs/server.key", lambda v: v, lambda: _pem(g, "EC PRIVATE KEY"))
    add("private_key_pgp", "keys", "keys/secret.asc", lambda v: v, lambda: _pem(g, "PGP PRIVATE KEY BLOCK"))
    add("private_key_json_escaped", "keys", "gcp/service-account.json",
        lambda v: '{"type": "service_account", "private_key": "' + v.replace("\n", "\\n") + '"}\n',
        lambda: _pem(g, "PRIVATE KEY"))

    out = []
    for fmt, family, path, template, make in rows:
        value = make()
        out.append(Sample(fmt, family, path, template(value), value))
    return out


def _pem(g: _Gen, label: str) -> str:
    body = g.b64(900)
    lines = [body[i:i + 64] for i in range(0, len(body), 64)]
    return f"-----BEGIN {label}-----\n" + "\n".join(lines) + f"\n-----END {label}-----\n"


def build_corpus(seed: int = 12, per_format: int = 3) -> list[Sample]:
    """Provider tokens in ``per_format`` file syntaxes each, then the contextual secrets; values random per seed."""
    g = _Gen(random.Random(seed))
    return _token_samples(g, per_format) + _contextual_samples(g)


def leaked(sample: Sample, redacted: str) -> bool:
    """Whether any part of the secret survives: any 10-character piece of it (the whole value when shorter).

    Markers are taken out first: ``[REDACTED:rubygems_api_token]`` must not count as the leaked ``rubygems_a...``.
    """
    redacted = re.sub(r"\[REDACTED:[\w.-]*\]", "\x00", redacted)
    for piece in sample.secret.split("\n"):
        piece = piece.strip()
        if piece.startswith("-----") or not piece:
            continue
        width = min(10, len(piece))
        if any(piece[i:i + width] in redacted for i in range(0, len(piece) - width + 1)):
            return True
    return False


if __name__ == "__main__":
    corpus = build_corpus()
    print(f"{len(corpus)} samples, {len({s.format for s in corpus})} formats")


def run(args) -> None:  # noqa: ARG001 - a section of tools/bench: the corpus alone
    corpus = build_corpus()
    families = sorted({s.family for s in corpus})
    print(f"   {len(corpus)} samples of {len({s.format for s in corpus})} formats in {len(families)} families: "
          f"{', '.join(families)}")
