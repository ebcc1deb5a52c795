#!/usr/bin/env bash
# Lets a gateway connect to the broker: its code as user name (and client id), the secret the hub
# showed once when the gateway was registered (POST /api/v1/gateways) as password. The ACL's
# `pattern` lines confine it to estatehub/v1/gw/<code>/… by themselves. Then reloads the broker.
#
#   GATEWAY_SECRET=… deploy/cluster/add-gateway.sh gw-east-1
#
# Remove one: mosquitto_passwd -D /etc/mosquitto/estatehub/passwd <code>, then reload-broker.sh.
# Environment: BROKER_DIR (default /etc/mosquitto/estatehub), MOSQUITTO_PID_FILE (see add-hub.sh).
set -euo pipefail

code=${1:?usage: GATEWAY_SECRET=... add-gateway.sh <gateway code>}
secret=${GATEWAY_SECRET:?set GATEWAY_SECRET to the secret shown when the gateway was registered}
broker_dir=${BROKER_DIR:-/etc/mosquitto/estatehub}
# The rule of gateway/contract/topics.ts (GATEWAY_ID_PATTERN): one topic level, no wildcards.
if [[ ! $code =~ ^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$ ]]; then
  echo "add-gateway.sh: '$code' is not a gateway code (want ^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}\$)" >&2
  exit 2
fi
# Hub accounts may read every batch: a gateway must never hold one of their names.
if [[ $code == estatehub-hub-* ]]; then
  echo "add-gateway.sh: '$code' is a hub's user name; choose another gateway code" >&2
  exit 2
fi
touch "$broker_dir/passwd"
chmod 0600 "$broker_dir/passwd"
# The broker reads the file after dropping root (and again on every reload): give it to its user.
if [[ $(id -u) == 0 ]] && id "${BROKER_USER:-mosquitto}" >/dev/null 2>&1; then
  chown "${BROKER_USER:-mosquitto}:" "$broker_dir/passwd"
fi
mosquitto_passwd -b "$broker_dir/passwd" "$code" "$secret"
"$(dirname "$0")/reload-broker.sh"
