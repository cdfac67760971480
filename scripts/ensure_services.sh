#!/usr/bin/env bash
# Makes sure Postgres (127.0.0.1:5432) and MariaDB (127.0.0.1:3306) answer. Starts a stopped
# one when this machine can; otherwise stops with one line naming the command to run.
set -uo pipefail

pg_start='pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start'
mariadb_start='start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd'

pg_up() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }
mariadb_up() { mariadb-admin --protocol=tcp -h 127.0.0.1 -P 3306 -u root ping >/dev/null 2>&1 \
  || mysqladmin --protocol=tcp -h 127.0.0.1 -P 3306 -u root ping >/dev/null 2>&1; }

ensure() {  # name, check function, start command
  local name=$1 check=$2 start=$3
  $check && return 0
  if [ "$(id -u)" -eq 0 ]; then
    echo "services: $name is not answering; starting it"
    bash -c "$start" >/dev/null 2>&1
    for _ in $(seq 1 30); do $check && return 0; sleep 1; done
  fi
  echo "services: $name is not reachable on loopback; start it with: $start" >&2
  return 1
}

ensure Postgres pg_up "$pg_start" && ensure MariaDB mariadb_up "$mariadb_start"
