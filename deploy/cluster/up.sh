#!/usr/bin/env bash
# The reference cluster on ONE machine, without systemd: a private Mosquitto (TLS, password file,
# ACL: this directory's mosquitto.conf and acl with their paths rewritten), N hub processes
# running this directory's hub.yaml (bin/estatehub.js hub) on one fresh PostgreSQL database.
# Waits for every hub's /healthz, prints the URLs; deploy/cluster/down.sh <dir> stops it all.
# test/cluster.int.test.ts runs it in CI.
#
#   deploy/cluster/up.sh                       # 3 hubs, ports 18883 (broker), 18080-18082 (API)
#   HUBS=2 MQTT_PORT=28883 HTTP_PORT_BASE=28080 deploy/cluster/up.sh
#
# Environment:
#   HUBS                  3
#   ESTATEHUB_CLUSTER_DIR a new temp directory     everything lands here: configs, data, logs, pids
#   MQTT_PORT             18883                    the broker's TLS listener (127.0.0.1)
#   HTTP_PORT_BASE        18080                    hub N listens on HTTP_PORT_BASE+N-1
#   METRICS_PORT_BASE     19464                    hub N's /metrics on METRICS_PORT_BASE+N-1
#   PG_ADMIN_URL          postgres://postgres@127.0.0.1:5432/postgres  creates the database
#   ESTATEHUB_DATABASE_URL (unset)                 set: use this database as it is (not dropped)
#   GATEWAYS_FILE         (unset)                  lines "<code> <secret>": broker accounts
#   ESTATEHUB_LOG_LEVEL   info
#   HEALTH_TIMEOUT        180                      seconds to wait for each hub's /healthz
#   MOSQUITTO             mosquitto on PATH, else /usr/sbin/mosquitto
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
hubs=${HUBS:-3}
mqtt_port=${MQTT_PORT:-18883}
http_base=${HTTP_PORT_BASE:-18080}
metrics_base=${METRICS_PORT_BASE:-19464}
pg_admin=${PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}
health_timeout=${HEALTH_TIMEOUT:-180}
mosquitto=${MOSQUITTO:-$(command -v mosquitto || echo /usr/sbin/mosquitto)}
node=${NODE:-$(command -v node)}

missing=()
[[ -x $mosquitto ]] || missing+=("mosquitto ($mosquitto)")
for tool in mosquitto_passwd openssl psql curl; do command -v "$tool" >/dev/null || missing+=("$tool"); done
if ((${#missing[@]} > 0)); then
  echo "up.sh: missing: ${missing[*]} (Debian: apt-get install mosquitto mosquitto-clients openssl postgresql-client curl)" >&2
  exit 3
fi
[[ $hubs =~ ^[1-9][0-9]?$ ]] || { echo "up.sh: HUBS must be 1-99, got '$hubs'" >&2; exit 2; }

dir=${ESTATEHUB_CLUSTER_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/estatehub-cluster.XXXXXX")}
mkdir -p "$dir/broker/data"
dir=$(cd "$dir" && pwd)
broker="$dir/broker"
state="$dir/cluster.state"
: >"$state"
# Whatever fails from here on: stop what was started, unless asked to keep it for a look.
fail() {
  echo "up.sh: $*" >&2
  if [[ -z ${KEEP_ON_FAILURE:-} ]]; then "$here/down.sh" "$dir" >&2 || true; fi
  exit 1
}

# --- PostgreSQL: a fresh database, unless one is given ------------------------------------
if [[ -n ${ESTATEHUB_DATABASE_URL:-} ]]; then
  db_url=$ESTATEHUB_DATABASE_URL
else
  db_name="estatehub_cluster_$(openssl rand -hex 5)"
  psql "$pg_admin" -v ON_ERROR_STOP=1 -qc "create database $db_name" >/dev/null ||
    fail "cannot create a database through $pg_admin"
  echo "CREATED_DATABASE=$db_name" >>"$state"
  echo "PG_ADMIN_URL=$pg_admin" >>"$state"
  # The admin URL with the new database's name as its path (query string kept).
  base=${pg_admin%%\?*}
  query=${pg_admin:${#base}}
  db_url="${base%/*}/$db_name$query"
fi

# --- Broker: a throwaway CA and server certificate, the same config and ACL -----------------
openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=EstateHub cluster CA" \
  -keyout "$broker/ca.key" -out "$broker/ca.crt" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
  -keyout "$broker/server.key" -out "$broker/server.csr" 2>/dev/null
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >"$broker/san.ext"
openssl x509 -req -in "$broker/server.csr" -CA "$broker/ca.crt" -CAkey "$broker/ca.key" \
  -CAcreateserial -days 30 -extfile "$broker/san.ext" -out "$broker/server.crt" 2>/dev/null
chmod 0600 "$broker/ca.key" "$broker/server.key"

# The reference mosquitto.conf, with this machine's port and the temp dir for /etc and /var.
# `user` keeps the broker as whoever runs this (as root it would switch to "mosquitto", which
# cannot read a root-owned temp dir).
sed -e "s|^listener 8883\$|listener $mqtt_port 127.0.0.1|" \
  -e "s|/etc/mosquitto/estatehub/|$broker/|g" \
  -e "s|^persistence_location /var/lib/mosquitto/\$|persistence_location $broker/data/|" \
  -e "s|^log_dest syslog\$|log_dest file $broker/mosquitto.log|" \
  "$here/mosquitto.conf" >"$broker/mosquitto.conf"
echo "user $(id -un)" >>"$broker/mosquitto.conf"
grep -q "^listener $mqtt_port 127.0.0.1\$" "$broker/mosquitto.conf" || fail "mosquitto.conf: no 'listener 8883' line to rewrite"
cp "$here/acl" "$broker/acl"
: >"$broker/passwd"
chmod 0600 "$broker/passwd"

export BROKER_DIR=$broker ENV_DIR=$dir BROKER_USER=$(id -un)
for ((n = 1; n <= hubs; n++)); do
  HTTP_PORT=$((http_base + n - 1)) METRICS_PORT=$((metrics_base + n - 1)) "$here/add-hub.sh" "$n" >/dev/null 2>&1 ||
    fail "add-hub.sh $n failed"
done
if [[ -n ${GATEWAYS_FILE:-} ]]; then
  while read -r code secret _; do
    [[ -z $code || $code == \#* ]] && continue
    GATEWAY_SECRET=$secret "$here/add-gateway.sh" "$code" 2>/dev/null || fail "add-gateway.sh $code failed"
  done <"$GATEWAYS_FILE"
fi

"$mosquitto" -c "$broker/mosquitto.conf" >>"$broker/mosquitto.out" 2>&1 &
echo $! >"$broker/mosquitto.pid"
echo "BROKER_PID=$!" >>"$state"
# From now on add-hub.sh / add-gateway.sh reload this broker.
export MOSQUITTO_PID_FILE="$broker/mosquitto.pid"
for ((i = 0; ; i++)); do
  (exec 3<>"/dev/tcp/127.0.0.1/$mqtt_port") 2>/dev/null && break
  kill -0 "$(cat "$broker/mosquitto.pid")" 2>/dev/null || fail "mosquitto exited: $(tail -5 "$broker/mosquitto.out" "$broker/mosquitto.log" 2>/dev/null)"
  ((i < 100)) || fail "mosquitto does not listen on $mqtt_port after 10 s"
  sleep 0.1
done

umask 077
cat >"$dir/cluster.env" <<ENV
# What every hub shares (as /etc/estatehub/cluster.env would). Written by deploy/cluster/up.sh.
ESTATEHUB_DATABASE_URL=$db_url
ESTATEHUB_MQTT_URL=mqtts://127.0.0.1:$mqtt_port
ESTATEHUB_MQTT_CA_FILE=$broker/ca.crt
ESTATEHUB_LOG_LEVEL=${ESTATEHUB_LOG_LEVEL:-info}
ENV
umask 022

# --- Hubs: the migrations once, then N processes of the same config -------------------------
# A hub's environment as systemd gives it (EnvironmentFile= twice); `exec` so the pid recorded
# is the hub's own (down.sh and a test's SIGKILL reach the process, not a shell around it).
hub_env() { set -a && . "$dir/cluster.env" && . "$dir/hub-$1.env" && set +a; }
(hub_env 1 && exec "$node" "$repo/bin/estatehub.js" migrate --config "$here/hub.yaml") >>"$dir/migrate.log" 2>&1 ||
  fail "migrate failed: $(tail -5 "$dir/migrate.log")"
for ((n = 1; n <= hubs; n++)); do
  (hub_env "$n" && exec "$node" "$repo/bin/estatehub.js" hub --config "$here/hub.yaml") >>"$dir/hub-$n.log" 2>&1 &
  echo $! >"$dir/hub-$n.pid"
  echo "HUB_PID_$n=$!" >>"$state"
done

end=$((SECONDS + health_timeout))
for ((n = 1; n <= hubs; n++)); do
  port=$((http_base + n - 1))
  until curl -fs -o /dev/null "http://127.0.0.1:$port/healthz"; do
    kill -0 "$(cat "$dir/hub-$n.pid")" 2>/dev/null || fail "hub $n exited: $(tail -20 "$dir/hub-$n.log")"
    ((SECONDS < end)) || fail "hub $n: no /healthz on port $port within ${health_timeout} s: $(tail -20 "$dir/hub-$n.log")"
    sleep 0.2
  done
done

echo "EstateHub cluster up in $dir"
echo "  broker    mqtts://127.0.0.1:$mqtt_port  (CA $broker/ca.crt; users: $broker/passwd, ACL: $broker/acl)"
for ((n = 1; n <= hubs; n++)); do
  echo "  hub $n     http://127.0.0.1:$((http_base + n - 1))  (pid $(cat "$dir/hub-$n.pid"), log $dir/hub-$n.log)"
done
echo "  database  ${db_url%%@*}@…/${db_url##*/}"
echo "Add a gateway: BROKER_DIR=$broker MOSQUITTO_PID_FILE=$broker/mosquitto.pid GATEWAY_SECRET=… $here/add-gateway.sh <code>"
echo "Stop:         $here/down.sh $dir"
