#!/usr/bin/env bash
# A throwaway PostgreSQL 15 cluster for the tests and CI, on loopback only.
#
#   scripts/pg-cluster.sh start DIR    initdb into DIR (once), start it on a free port of
#                                      127.0.0.1, create the database krr_test; the last line
#                                      printed (on stdout) is
#                                      KRR_DATABASE_URL=postgres://postgres@127.0.0.1:PORT/krr_test
#   scripts/pg-cluster.sh stop DIR     stop it (fast shutdown, immediate if that hangs)
#   scripts/pg-cluster.sh stop DIR --remove   ... and delete DIR (only a folder this script made)
#   scripts/pg-cluster.sh status DIR   exit 0 and print the URL when it runs, exit 3 when not
#
# Typical use:
#   dir=$(mktemp -d) && export "$(scripts/pg-cluster.sh start "$dir" | tail -n 1)"
#   npm test; scripts/pg-cluster.sh stop "$dir" --remove
#
# - Debian's PostgreSQL 15 from /usr/lib/postgresql/15/bin (PG_BIN overrides). When it is
#   missing and we are root, `apt-get install postgresql` (Debian 12's is 15). Installing
#   the package may also create Debian's own `main` cluster on port 5432; this script never
#   touches it and never uses port 5432 unless it happens to be free and chosen.
# - Run as root (CI), the server runs as the `postgres` OS user: DIR is chown'd to it, so
#   DIR must be somewhere that user can reach (/tmp is; /root is not). Run as anyone else,
#   the server runs as that user. Either way the database superuser is `postgres`.
# - Trust authentication: the server listens on 127.0.0.1 only and on a unix socket in DIR
#   (mode 0700), so only this machine's users can reach it. For tests, never for real data.
# - Bounded: every step that could hang has a timeout; idempotent: `start` on a running
#   cluster prints its URL again, `start` on a stopped one restarts it, `stop` on a stopped
#   or missing one succeeds.
set -euo pipefail

PG_MAJOR=15
PG_BIN=${PG_BIN:-/usr/lib/postgresql/$PG_MAJOR/bin}
DB_NAME=krr_test
DB_USER=postgres
MARKER=.krr-pg-cluster
INSTALL_TIMEOUT=${PG_INSTALL_TIMEOUT:-600}
START_TIMEOUT=${PG_START_TIMEOUT:-60}
STOP_TIMEOUT=${PG_STOP_TIMEOUT:-30}

log() { echo "pg-cluster: $*" >&2; }
die() {
  log "error: $*"
  exit 1
}
usage() {
  echo "usage: $0 start DIR | stop DIR [--remove] | status DIR" >&2
  exit 2
}

is_root() { [ "$(id -u)" -eq 0 ]; }

# Runs a server-side command (initdb, pg_ctl) as the user that owns the cluster.
as_owner() {
  if is_root; then
    (cd / && timeout "$CMD_TIMEOUT" runuser -u postgres -- "$@")
  else
    (cd / && timeout "$CMD_TIMEOUT" "$@")
  fi
}
CMD_TIMEOUT=120

ensure_postgres() {
  if [ -x "$PG_BIN/pg_ctl" ] && [ -x "$PG_BIN/initdb" ] && [ -x "$PG_BIN/postgres" ]; then return; fi
  is_root || die "$PG_BIN is missing: install PostgreSQL $PG_MAJOR (Debian: sudo apt-get install postgresql) or set PG_BIN"
  command -v apt-get >/dev/null || die "$PG_BIN is missing and there is no apt-get: install PostgreSQL $PG_MAJOR or set PG_BIN"
  log "installing Debian's postgresql (PostgreSQL $PG_MAJOR)"
  timeout "$INSTALL_TIMEOUT" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive timeout "$INSTALL_TIMEOUT" apt-get install -y -qq --no-install-recommends postgresql >/dev/null
  [ -x "$PG_BIN/pg_ctl" ] || die "installed postgresql, but $PG_BIN/pg_ctl is still missing (not PostgreSQL $PG_MAJOR?); set PG_BIN"
}

# A free TCP port on 127.0.0.1 (the OS picks it; PostgreSQL binds it a moment later).
free_port() {
  if command -v node >/dev/null; then
    timeout 10 node -e "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{process.stdout.write(String(s.address().port));s.close()})"
  elif command -v python3 >/dev/null; then
    timeout 10 python3 -c "import socket;s=socket.socket();s.bind(('127.0.0.1',0));print(s.getsockname()[1]);s.close()"
  else
    die "need node or python3 to find a free port"
  fi
}

url_for() { echo "KRR_DATABASE_URL=postgres://$DB_USER@127.0.0.1:$1/$DB_NAME"; }

# psql against the cluster over TCP, bounded.
pg_sql() {
  PGCONNECT_TIMEOUT=10 timeout 60 "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$1" -U "$DB_USER" -d postgres -tA -c "$2"
}

running() { [ -f "$DATA/postmaster.pid" ] && as_owner "$PG_BIN/pg_ctl" status -D "$DATA" >/dev/null 2>&1; }

cmd_start() {
  ensure_postgres
  mkdir -p "$DIR"
  DIR=$(cd "$DIR" && pwd -P)
  DATA=$DIR/data
  # A unix socket path is limited to 107 bytes: DIR/.s.PGSQL.NNNNN
  [ ${#DIR} -le 90 ] || die "DIR is too long for a unix socket path (${#DIR} > 90 characters): $DIR"
  if [ -e "$DIR/PG_VERSION" ]; then die "$DIR is itself a data directory: give the folder to put the cluster in"; fi
  if [ -z "$(ls -A "$DIR")" ]; then touch "$DIR/$MARKER"; fi
  if is_root; then
    getent passwd postgres >/dev/null || die "no 'postgres' OS user to run the server as (it comes with Debian's postgresql package)"
    chown -R postgres: "$DIR"
    chmod 0700 "$DIR"
    runuser -u postgres -- test -w "$DIR" ||
      die "the postgres OS user cannot write $DIR (is a parent folder closed to it, like /root?): use a folder under /tmp"
  fi

  if [ -f "$DATA/PG_VERSION" ]; then
    version=$(cat "$DATA/PG_VERSION")
    [ "$version" = "$PG_MAJOR" ] || die "$DATA holds a PostgreSQL $version cluster, not $PG_MAJOR"
  else
    log "initdb into $DATA"
    as_owner "$PG_BIN/initdb" -D "$DATA" -U "$DB_USER" --auth=trust -E UTF8 --no-locale --no-sync --no-instructions >"$DIR/initdb.log" 2>&1 ||
      { cat "$DIR/initdb.log" >&2; die "initdb failed"; }
  fi

  if running; then
    port=$(cat "$DIR/port" 2>/dev/null || true)
    [ -n "$port" ] || die "a server runs in $DATA but $DIR/port is missing: stop it first"
    log "already running on 127.0.0.1:$port"
  else
    started=
    for attempt in 1 2 3; do
      port=$(free_port)
      log "starting PostgreSQL $PG_MAJOR on 127.0.0.1:$port (attempt $attempt)"
      # listen_addresses and the socket folder on the command line, so nothing else can
      # make this cluster reachable from outside the machine.
      if CMD_TIMEOUT=$((START_TIMEOUT + 10)) as_owner "$PG_BIN/pg_ctl" start -D "$DATA" -l "$DIR/postgres.log" -w -t "$START_TIMEOUT" \
        -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories='$DIR' -c unix_socket_permissions=0700" >/dev/null; then
        started=1
        break
      fi
      log "could not start (port taken meanwhile?); last log lines:"
      tail -n 5 "$DIR/postgres.log" >&2 || true
      as_owner "$PG_BIN/pg_ctl" stop -D "$DATA" -m immediate -w -t "$STOP_TIMEOUT" >/dev/null 2>&1 || true
    done
    [ -n "$started" ] || die "PostgreSQL did not start; see $DIR/postgres.log"
    echo "$port" >"$DIR/port"
  fi

  exists=$(pg_sql "$port" "select 1 from pg_database where datname = '$DB_NAME'") || die "cannot connect to 127.0.0.1:$port"
  if [ "$exists" != 1 ]; then
    log "creating database $DB_NAME"
    pg_sql "$port" "create database $DB_NAME" >/dev/null
  fi
  url_for "$port"
}

cmd_stop() {
  if [ ! -d "$DIR" ]; then
    log "$DIR does not exist: nothing to stop"
    return
  fi
  DIR=$(cd "$DIR" && pwd -P)
  DATA=$DIR/data
  if [ -x "$PG_BIN/pg_ctl" ] && running; then
    log "stopping the cluster in $DATA"
    if ! CMD_TIMEOUT=$((STOP_TIMEOUT + 10)) as_owner "$PG_BIN/pg_ctl" stop -D "$DATA" -m fast -w -t "$STOP_TIMEOUT" >/dev/null; then
      log "fast shutdown did not finish in ${STOP_TIMEOUT}s: immediate shutdown"
      CMD_TIMEOUT=$((STOP_TIMEOUT + 10)) as_owner "$PG_BIN/pg_ctl" stop -D "$DATA" -m immediate -w -t "$STOP_TIMEOUT" >/dev/null
    fi
  else
    log "no server runs in $DATA"
  fi
  rm -f "$DIR/port"
  if [ "${REMOVE:-}" = 1 ]; then
    [ -f "$DIR/$MARKER" ] || die "not removing $DIR: this script did not create it (no $MARKER)"
    rm -rf -- "$DIR"
    log "removed $DIR"
  fi
}

cmd_status() {
  [ -d "$DIR" ] || exit 3
  DIR=$(cd "$DIR" && pwd -P)
  DATA=$DIR/data
  if [ -x "$PG_BIN/pg_ctl" ] && running && [ -f "$DIR/port" ]; then
    url_for "$(cat "$DIR/port")"
  else
    log "not running"
    exit 3
  fi
}

[ $# -ge 2 ] || usage
action=$1
DIR=$2
[ -n "$DIR" ] || usage
case "$action" in
  start)
    [ $# -eq 2 ] || usage
    cmd_start
    ;;
  stop)
    case "${3:-}" in
      '') ;;
      --remove) REMOVE=1 ;;
      *) usage ;;
    esac
    cmd_stop
    ;;
  status) cmd_status ;;
  *) usage ;;
esac
