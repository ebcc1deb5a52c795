#!/usr/bin/env bash
# Stops what deploy/cluster/up.sh started in <dir>: the hubs (SIGTERM, then SIGKILL after 20 s),
# the broker, and drops the database up.sh created (not one it was given). Keeps <dir> unless
# REMOVE_DIR=1, so the logs can be read.
#
#   deploy/cluster/down.sh /tmp/estatehub-cluster.XXXXXX
set -uo pipefail

dir=${1:?usage: down.sh <cluster dir printed by up.sh>}
state="$dir/cluster.state"
[[ -f $state ]] || { echo "down.sh: $state not found: not a directory up.sh made" >&2; exit 2; }

pids_of() { grep -E "^$1=" "$state" | cut -d= -f2; }
# A killed process whose parent is gone stays a zombie until pid 1 reaps it: that one is stopped.
running() { local s; s=$(ps -o stat= -p "$1" 2>/dev/null) && [[ $s != Z* ]]; }
stop() { # SIGTERM, wait up to 20 s, then SIGKILL: the pids are ones up.sh started.
  local pid
  for pid in "$@"; do kill -TERM "$pid" 2>/dev/null; done
  for ((i = 0; i < 200; i++)); do
    local alive=0
    for pid in "$@"; do running "$pid" && alive=1; done
    ((alive)) || return 0
    sleep 0.1
  done
  for pid in "$@"; do kill -KILL "$pid" 2>/dev/null; done
}

mapfile -t hub_pids < <(pids_of 'HUB_PID_[0-9]+')
((${#hub_pids[@]} > 0)) && stop "${hub_pids[@]}"
mapfile -t broker_pids < <(pids_of BROKER_PID)
((${#broker_pids[@]} > 0)) && stop "${broker_pids[@]}"

db=$(pids_of CREATED_DATABASE)
if [[ -n $db ]]; then
  admin=$(grep -E '^PG_ADMIN_URL=' "$state" | cut -d= -f2-)
  psql "$admin" -v ON_ERROR_STOP=1 -qc "drop database if exists $db with (force)" >/dev/null ||
    echo "down.sh: could not drop database $db" >&2
fi
if [[ ${REMOVE_DIR:-} == 1 ]]; then rm -rf "$dir"; else echo "stopped; logs kept in $dir"; fi
