# Shared by scripts/run and scripts/test: install what a fresh Debian machine lacks, start a
# throwaway PostgreSQL. Sourced, not run.

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

as_root() {
  if [[ $(id -u) -eq 0 ]]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    log "need root to run: $*"; return 1; fi
}

apt_install() {
  log "installing missing Debian packages: $*"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"
}

has_libclang() {
  [[ -n "${LIBCLANG_PATH:-}" ]] && return 0
  local g
  for g in '/usr/lib/llvm-*/lib/libclang.so*' '/usr/lib/llvm-*/lib/libclang-[0-9]*.so*' \
    '/usr/lib/*/libclang.so*' '/usr/lib/*/libclang-[0-9]*.so*'; do
    compgen -G "$g" >/dev/null && return 0
  done
  return 1
}

# The C parts (SQLite, libpq, OpenSSL) are built from source by their crates; that needs a C
# compiler, make and perl (OpenSSL's configure).
ensure_build_tools() {
  command -v cargo >/dev/null || { log "Rust is required: https://rustup.rs"; exit 1; }
  local missing=()
  command -v cc >/dev/null || missing+=(gcc libc6-dev)
  command -v make >/dev/null || missing+=(make)
  perl -MFindBin -MFile::Spec -MIPC::Cmd -e1 2>/dev/null || missing+=(perl)
  # sequoia-openpgp's OpenSSL backend generates its bindings with bindgen, which loads libclang.
  has_libclang || missing+=(libclang-dev)
  # The mail tests check Helpline's replies with real GnuPG.
  command -v gpg >/dev/null || missing+=(gnupg)
  if ((${#missing[@]})); then apt_install "${missing[@]}"; fi
}

# The export tests validate MISP events with the MISP project's schema and type table (shipped
# in PyMISP) and STIX bundles with OASIS's stix2 library, and the openapi test generates a
# client with openapi-python-client, in a virtualenv under target/.
ensure_python_validators() {
  local venv=target/pyvalidate
  if ! "$venv/bin/python" -c 'import pymisp, stix2, stix2patterns, jsonschema, openapi_python_client' 2>/dev/null; then
    command -v python3 >/dev/null || apt_install python3
    python3 -c 'import venv, ensurepip' 2>/dev/null || apt_install python3-venv
    log "installing the export validators (PyMISP, stix2) and openapi-python-client in $venv"
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check \
      'pymisp==2.5.34.4' 'stix2==3.0.2' 'stix2-patterns==2.1.2' 'jsonschema>=4,<5' \
      'openapi-python-client==0.29.1'
  fi
  export HELPLINE_PYTHON="$PWD/$venv/bin/python"
}

# The cluster test puts two nodes behind Debian's nginx (HELPLINE_NGINX for the tests).
ensure_nginx() {
  local n
  n=$(command -v nginx || true)
  [[ -z "$n" && -x /usr/sbin/nginx ]] && n=/usr/sbin/nginx
  if [[ -z "$n" ]]; then
    # Debian's package would start a system-wide nginx on port 80: only the binary is wanted.
    apt_install nginx
    n=/usr/sbin/nginx
    as_root sh -c 'command -v systemctl >/dev/null && systemctl disable --now nginx >/dev/null 2>&1; true'
  fi
  export HELPLINE_NGINX="$n"
}

# The console's browser test drives Debian's Chromium over WebDriver (HELPLINE_CHROMEDRIVER,
# HELPLINE_CHROMIUM for the tests).
ensure_browser() {
  if ! command -v chromedriver >/dev/null || ! command -v chromium >/dev/null; then
    apt_install chromium chromium-driver
  fi
  export HELPLINE_CHROMEDRIVER="$(command -v chromedriver)" HELPLINE_CHROMIUM="$(command -v chromium)"
}

# The browser test checks every page with axe-core (Deque's accessibility rules) from the npm
# registry, in target/axe (HELPLINE_AXE for the tests): test tooling only, never served.
AXE_VERSION=4.11.0
ensure_axe() {
  local dir=target/axe js=target/axe/node_modules/axe-core/axe.min.js
  if [[ ! -f "$js" ]] || ! grep -q "\"version\": \"$AXE_VERSION\"" "$dir/node_modules/axe-core/package.json" 2>/dev/null; then
    command -v npm >/dev/null || apt_install nodejs npm
    log "installing axe-core $AXE_VERSION from the npm registry in $dir"
    mkdir -p "$dir"
    npm install --silent --no-audit --no-fund --prefix "$dir" "axe-core@$AXE_VERSION" >/dev/null
  fi
  export HELPLINE_AXE="$PWD/$js"
}

pg_bindir() {
  local d
  for d in /usr/lib/postgresql/*/bin; do
    [[ -x "$d/initdb" && -x "$d/postgres" ]] && { echo "$d"; return 0; }
  done
  command -v initdb >/dev/null && { dirname "$(command -v initdb)"; return 0; }
  return 1
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null \
    || echo $((20000 + RANDOM % 20000))
}

PG_TMP=""
PG_BIN=""
stop_throwaway_postgres() {
  if [[ -n "$PG_TMP" && -d "$PG_TMP" ]]; then
    log "stopping the throwaway PostgreSQL"
    if [[ $(id -u) -eq 0 ]]; then
      runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PG_TMP/data" -m immediate -w stop >/dev/null 2>&1 || true
    else
      "$PG_BIN/pg_ctl" -D "$PG_TMP/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$PG_TMP"
  fi
}

start_throwaway_postgres() {
  if ! PG_BIN=$(pg_bindir); then
    if [[ "${CI:-}" == "true" ]] || command -v apt-get >/dev/null; then
      apt_install postgresql
      PG_BIN=$(pg_bindir) || { log "PostgreSQL could not be installed"; exit 1; }
    else
      log "no PostgreSQL found; Postgres tests will be skipped"; return 0
    fi
  fi
  PG_TMP=$(mktemp -d /tmp/helpline-pg.XXXXXX)
  trap stop_throwaway_postgres EXIT
  local port; port=$(free_port)
  local run=()
  if [[ $(id -u) -eq 0 ]]; then
    # initdb and postgres refuse to run as root.
    chown postgres "$PG_TMP"
    run=(runuser -u postgres --)
  fi
  log "starting a throwaway PostgreSQL ($PG_BIN) on 127.0.0.1:$port"
  "${run[@]}" "$PG_BIN/initdb" -D "$PG_TMP/data" -U postgres -A trust --no-sync -E UTF8 >/dev/null
  "${run[@]}" "$PG_BIN/pg_ctl" -D "$PG_TMP/data" -l "$PG_TMP/log" -w -t 60 \
    -o "-p $port -k $PG_TMP -c listen_addresses=127.0.0.1 -c max_connections=300 -c shared_buffers=256MB" start >/dev/null \
    || { cat "$PG_TMP/log" >&2; exit 1; }
  export HELPLINE_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$port/postgres"
}
