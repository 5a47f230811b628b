#!/usr/bin/env bash
# Run a command with a private PostgreSQL server on loopback, and stop it afterwards:
#   bash scripts/with-postgres.sh npm test
# The server is a fresh cluster in a temporary directory, on a free port, owned by the `postgres`
# user when run as root (PostgreSQL refuses to run as root), by the current user otherwise. The
# command sees DATABASE_URL pointing at an empty database `acttrace_test` on it. Needs the server's
# binaries (Debian: `apt-get install postgresql`; set PGBIN to use another installation). If the
# server cannot start, the script fails: nothing is skipped silently.
set -euo pipefail
if [ "$#" -eq 0 ]; then
  echo "usage: bash scripts/with-postgres.sh COMMAND [ARGS...]" >&2
  exit 2
fi
PGBIN=${PGBIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)}
if [ -z "$PGBIN" ] || [ ! -x "$PGBIN/initdb" ]; then
  echo "with-postgres: no PostgreSQL server binaries found (Debian: apt-get install postgresql; or set PGBIN)" >&2
  exit 1
fi
PGPORT=$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
PGDIR=$(mktemp -d /tmp/acttrace-pg.XXXXXX)
chmod 700 "$PGDIR"
if [ "$(id -u)" -eq 0 ]; then
  chown postgres:postgres "$PGDIR"
  as_pg() { runuser -u postgres -- "$@"; }
else
  as_pg() { "$@"; }
fi
stop() {
  as_pg "$PGBIN/pg_ctl" -D "$PGDIR/data" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$PGDIR"
}
trap stop EXIT
as_pg "$PGBIN/initdb" -D "$PGDIR/data" -U postgres -A trust -E UTF8 --no-locale >/dev/null
# max_connections: each test file and writer process holds a small pool of its own
if ! as_pg "$PGBIN/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/log" -w -t 30 \
  -o "-p $PGPORT -k $PGDIR -c listen_addresses=127.0.0.1 -c max_connections=300" start >/dev/null; then
  cat "$PGDIR/log" >&2 || true
  echo "with-postgres: PostgreSQL failed to start" >&2
  exit 1
fi
as_pg "$PGBIN/createdb" -h 127.0.0.1 -p "$PGPORT" -U postgres acttrace_test
export DATABASE_URL="postgres://postgres@127.0.0.1:$PGPORT/acttrace_test"
echo "with-postgres: PostgreSQL $("$PGBIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$PGPORT (DATABASE_URL=$DATABASE_URL)" >&2
status=0
"$@" || status=$?
exit $status
