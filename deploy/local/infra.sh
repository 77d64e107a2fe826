#!/usr/bin/env bash
# Fetches, starts, waits for and stops the real infrastructure Parley's tests and
# `npm run stack` use on one machine, with no Docker:
#   - Apache Kafka 4.x (KRaft, single node) from its Maven Central jars;
#   - FerretDB 1.24.2 (MongoDB wire protocol), built with Go, on PostgreSQL 15 from
#     Debian's packages (FerretDB's SQLite backend scans whole collections).
# Usage: deploy/local/infra.sh up | down | status | fetch | env | ferretdb-bin
#   up      starts what is not already listening, remembers what it started
#   down    stops only what `up` started
#   env     prints the connection variables for the running infrastructure
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CACHE="${PARLEY_LOCAL_CACHE:-$ROOT/.cache}"
KAFKA_PORT="${PARLEY_LOCAL_KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${PARLEY_LOCAL_KAFKA_CONTROLLER_PORT:-9093}"
MONGO_PORT="${PARLEY_LOCAL_MONGO_PORT:-27017}"
PG_PORT="${PARLEY_LOCAL_POSTGRES_PORT:-5433}"
# Outside the checkout: the server runs as the postgres user, which may not reach it.
PG_DIR="${PARLEY_LOCAL_POSTGRES_DIR:-${TMPDIR:-/tmp}/parley-postgres-$PG_PORT}"
KAFKA_DIR="$CACHE/kafka"
FERRET_DIR="$CACHE/ferretdb"
# What `up` started, so that `down` stops only that (tests point this at a file of their own).
STARTED="${PARLEY_INFRA_STARTED_FILE:-$CACHE/started}"

log() { printf '[infra] %s\n' "$*" >&2; }

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_for_port() {
  local port=$1 name=$2 seconds=${3:-120} logfile=${4:-}
  for ((i = 0; i < seconds * 4; i++)); do
    if listening "$port"; then return 0; fi
    sleep 0.25
  done
  log "$name did not start listening on $port within ${seconds}s"
  [ -n "$logfile" ] && [ -f "$logfile" ] && tail -50 "$logfile" >&2
  return 1
}

fetch_kafka() {
  if [ -f "$KAFKA_DIR/libs/.complete" ]; then return 0; fi
  command -v mvn >/dev/null || { log "Maven is needed to fetch Kafka"; return 1; }
  log "fetching Apache Kafka jars from Maven Central"
  rm -rf "$KAFKA_DIR/libs" && mkdir -p "$KAFKA_DIR/libs"
  mvn -B -q -f "$ROOT/deploy/local/kafka/pom.xml" dependency:copy-dependencies \
    -DoutputDirectory="$KAFKA_DIR/libs" -DincludeScope=runtime 1>&2
  touch "$KAFKA_DIR/libs/.complete"
}

build_ferretdb() {
  if [ -x "$FERRET_DIR/bin/ferretdb" ] && [ "$FERRET_DIR/bin/ferretdb" -nt "$ROOT/deploy/local/ferretdb/main.go" ]; then return 0; fi
  command -v go >/dev/null || { log "Go is needed to build FerretDB"; return 1; }
  log "building FerretDB v1.24.2 (first time only)"
  mkdir -p "$FERRET_DIR/bin"
  (cd "$ROOT/deploy/local/ferretdb" && GOFLAGS=-mod=mod go build -o "$FERRET_DIR/bin/ferretdb" . 1>&2)
}

start_kafka() {
  if listening "$KAFKA_PORT"; then log "Kafka already listening on $KAFKA_PORT"; return 0; fi
  fetch_kafka
  local data="$KAFKA_DIR/data-$KAFKA_PORT" props="$KAFKA_DIR/server-$KAFKA_PORT.properties"
  mkdir -p "$data"
  sed -e "s#@PORT@#$KAFKA_PORT#g" -e "s#@CONTROLLER_PORT@#$KAFKA_CONTROLLER_PORT#g" -e "s#@DATA_DIR@#$data#g" \
    "$ROOT/deploy/local/kafka/server.properties.template" >"$props"
  local cp="$KAFKA_DIR/libs/*"
  if [ ! -f "$data/meta.properties" ]; then
    local cluster
    cluster=$(java -cp "$cp" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -1)
    java -cp "$cp" kafka.tools.StorageTool format --standalone -t "$cluster" -c "$props" >"$KAFKA_DIR/format.log" 2>&1
  fi
  log "starting Kafka on 127.0.0.1:$KAFKA_PORT"
  nohup java -Xms256m -Xmx1g -XX:+UseG1GC -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$ROOT/deploy/local/kafka/log4j2.properties" \
    -cp "$cp" kafka.Kafka "$props" >"$KAFKA_DIR/server.log" 2>&1 &
  echo $! >"$KAFKA_DIR/pid"
  echo "kafka $!" >>"$STARTED"
  wait_for_port "$KAFKA_PORT" Kafka 180 "$KAFKA_DIR/server.log"
}

pg_bin() {
  local v
  for v in 15 16 17; do [ -x "/usr/lib/postgresql/$v/bin/initdb" ] && { echo "/usr/lib/postgresql/$v/bin"; return 0; }; done
  return 1
}

# PostgreSQL refuses to run as root: as root, the server runs as the postgres user.
as_postgres() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

install_postgres() {
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  log "installing PostgreSQL from Debian's packages"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends postgresql >/dev/null 2>&1 ||
    { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends postgresql >/dev/null; }
}

start_postgres() {
  if listening "$PG_PORT"; then log "PostgreSQL already listening on $PG_PORT"; return 0; fi
  local bin data="$PG_DIR/data"
  bin=$(pg_bin) || { install_postgres && bin=$(pg_bin); } || { log "PostgreSQL 15 is needed for FerretDB (Debian: apt-get install postgresql)"; return 1; }
  mkdir -p "$PG_DIR"
  [ "$(id -u)" = 0 ] && chown postgres "$PG_DIR"
  if [ ! -f "$data/PG_VERSION" ]; then
    as_postgres "$bin/initdb" -D "$data" -U postgres -A trust --no-sync >"$PG_DIR/initdb.log" 2>&1 || { tail -20 "$PG_DIR/initdb.log" >&2; return 1; }
  fi
  log "starting PostgreSQL on 127.0.0.1:$PG_PORT"
  # A test database: durability traded for speed (no fsync), as the Kafka here does.
  as_postgres "$bin/pg_ctl" -D "$data" -l "$PG_DIR/server.log" -w -t 60 \
    -o "-p $PG_PORT -c listen_addresses=127.0.0.1 -k $PG_DIR -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=600" start >/dev/null
  echo "postgres $(head -1 "$data/postmaster.pid")" >>"$STARTED"
  "$bin/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'ferretdb'" | grep -q 1 ||
    "$bin/createdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres ferretdb
  # FerretDB's finds read whole tables unless its indexes have GIN twins (see the file).
  "$bin/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -d ferretdb -v ON_ERROR_STOP=1 -qAt \
    -f "$ROOT/deploy/local/postgres/ferretdb-gin-twins.sql" >/dev/null
}

start_ferretdb() {
  if listening "$MONGO_PORT"; then log "a MongoDB-compatible server already listens on $MONGO_PORT"; return 0; fi
  build_ferretdb
  start_postgres
  log "starting FerretDB (PostgreSQL) on 127.0.0.1:$MONGO_PORT"
  # FerretDB holds a pool connection per running query and may take a second one inside it:
  # a pool smaller than the clients' concurrency (its default is 50) deadlocks under load.
  nohup "$FERRET_DIR/bin/ferretdb" --listen-addr "127.0.0.1:$MONGO_PORT" --postgresql-url "postgres://postgres@127.0.0.1:$PG_PORT/ferretdb?pool_max_conns=500" \
    >"$FERRET_DIR/server-$MONGO_PORT.log" 2>&1 &
  echo $! >"$FERRET_DIR/pid"
  echo "ferretdb $!" >>"$STARTED"
  wait_for_port "$MONGO_PORT" FerretDB 60 "$FERRET_DIR/server-$MONGO_PORT.log"
}

stop_started() {
  [ -f "$STARTED" ] || return 0
  # Newest first: FerretDB before the PostgreSQL under it.
  tac "$STARTED" | while read -r name pid; do
    if kill -0 "$pid" 2>/dev/null; then
      log "stopping $name ($pid)"
      # SIGINT is PostgreSQL's fast shutdown (SIGTERM waits for every client to leave).
      if [ "$name" = postgres ]; then kill -INT "$pid" 2>/dev/null || true; else kill -TERM "$pid" 2>/dev/null || true; fi
      for ((i = 0; i < 120; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
  rm -f "$STARTED"
}

print_env() {
  echo "PARLEY_KAFKA_BROKERS=127.0.0.1:$KAFKA_PORT"
  echo "PARLEY_MONGO_URL=mongodb://127.0.0.1:$MONGO_PORT/"
}

mkdir -p "$CACHE"
case "${1:-}" in
  up) { start_ferretdb & f=$!; start_kafka; wait "$f"; } 1>&2; print_env ;;
  down) stop_started ;;
  fetch) fetch_kafka; build_ferretdb ;;
  ferretdb-bin) build_ferretdb 1>&2; echo "$FERRET_DIR/bin/ferretdb" ;;
  status)
    listening "$KAFKA_PORT" && echo "kafka: listening on $KAFKA_PORT" || echo "kafka: down"
    listening "$MONGO_PORT" && echo "mongodb: listening on $MONGO_PORT" || echo "mongodb: down"
    listening "$PG_PORT" && echo "postgresql: listening on $PG_PORT" || echo "postgresql: down" ;;
  env) print_env ;;
  *) echo "usage: $0 up|down|status|fetch|env" >&2; exit 2 ;;
esac
