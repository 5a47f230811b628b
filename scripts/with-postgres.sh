#!/usr/bin/env bash
# Run a command with a private PostgreSQL server on loopback, and stop it afterwards:
#   bash scripts/with-postgres.sh npm test
# The server is a fresh cluster in a temporary directory, on a free port, owned by the `postgres`
# user when run as root (PostgreSQL refuses to run as root), by the current user otherwise. The
# command sees DATABASE_URL pointing at an empty database `acttrace_test` on it (any DATABASE_URL
# already set is replaced: the command gets a database nobody else writes to). Needs the server's
# binaries (Debian: `apt-get install postgresql`; set PGBIN to use another installation). If the
# server cannot start, the script fails: nothing is skipped silently. The exit status is the
# command's; interrupted (Ctrl-C, SIGTERM, SIGHUP), the command is stopped first, then the server.
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
PGDIR=$(mktemp -d /tmp/acttrace-pg.XXXXXX)
chmod 700 "$PGDIR"
if [ "$(id -u)" -eq 0 ]; then
  if ! id -u postgres >/dev/null 2>&1; then
    echo "with-postgres: run as root, but there is no postgres user to run the server as (PostgreSQL refuses root)" >&2
    rm -rf "$PGDIR"
    exit 1
  fi
  chown postgres:postgres "$PGDIR"
  # from the cluster's directory: the postgres user may not be allowed into the caller's
  as_pg() { (cd "$PGDIR" && runuser -u postgres -- "$@"); }
else
  as_pg() { (cd "$PGDIR" && "$@"); }
fi
child=""
stop() {
  as_pg "$PGBIN/pg_ctl" -D "$PGDIR/data" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$PGDIR"
}
trap stop EXIT
# A signal stops the command before the server (else the command, orphaned, would go on against
# a server that is gone), then exits as the shell would have: 128 + the signal's number.
# The command is found in the job table when the signal comes between its start and `child=$!`
# (bash runs a trap between those two commands: on a loaded machine the command may already be
# running, and would be left behind).
interrupted() {
  trap - INT TERM HUP
  [ -n "$child" ] || child=$(jobs -p | tail -1)
  if [ -n "$child" ]; then
    kill "-$2" "$child" 2>/dev/null || true
    wait "$child" 2>/dev/null || true
  fi
  exit $((128 + $1))
}
trap 'interrupted 2 INT' INT
trap 'interrupted 15 TERM' TERM
trap 'interrupted 1 HUP' HUP

as_pg "$PGBIN/initdb" -D "$PGDIR/data" -U postgres -A trust -E UTF8 --no-locale >/dev/null
# A free port, found by binding port 0; another process can take it before the server binds it,
# so a start that fails is tried again on another port (twice), and only then is it a failure.
started=""
for attempt in 1 2 3; do
  PGPORT=$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
  # max_connections: each test file and writer process holds a small pool of its own
  if as_pg "$PGBIN/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/log" -w -t 30 \
    -o "-p $PGPORT -k $PGDIR -c listen_addresses=127.0.0.1 -c max_connections=300" start >/dev/null; then
    started=yes
    break
  fi
  grep -q "could not bind\|already in use" "$PGDIR/log" 2>/dev/null || break
done
if [ -z "$started" ]; then
  cat "$PGDIR/log" >&2 || true
  echo "with-postgres: PostgreSQL failed to start" >&2
  exit 1
fi
as_pg "$PGBIN/createdb" -h 127.0.0.1 -p "$PGPORT" -U postgres acttrace_test
export DATABASE_URL="postgres://postgres@127.0.0.1:$PGPORT/acttrace_test"
echo "with-postgres: PostgreSQL $("$PGBIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$PGPORT, cluster in $PGDIR (DATABASE_URL=$DATABASE_URL)" >&2
# In the background so that a signal reaches the trap at once (bash runs traps only between
# commands); `<&0` keeps the caller's standard input (a background job would get /dev/null), and
# `trap - INT QUIT` undoes the ignoring of SIGINT and SIGQUIT that bash gives background jobs.
status=0
( trap - INT QUIT; exec "$@" ) <&0 &
child=$!
wait "$child" || status=$?
child=""
if [ "$status" -ne 0 ]; then
  # the server's log outlives the cluster, for whoever reads why the command failed
  cp "$PGDIR/log" "${TMPDIR:-/tmp}/acttrace-pg-last.log" 2>/dev/null \
    && echo "with-postgres: the command exited $status; the server's log is in ${TMPDIR:-/tmp}/acttrace-pg-last.log" >&2
fi
exit $status
