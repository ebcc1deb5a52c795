#!/usr/bin/env bash
# Gives hub number N its broker account: a random password in the broker's password file, its
# block in the ACL, and /etc/estatehub/hub-N.env for the estatehub-hub@N unit. Run it again for
# the same N to give that hub a new password. Then reloads the broker.
#
#   deploy/cluster/add-hub.sh 2            # as root, on the broker's machine
#
# Environment (defaults are the systemd layout; deploy/cluster/up.sh sets them for one machine):
#   BROKER_DIR          /etc/mosquitto/estatehub   passwd and acl live here
#   ENV_DIR             /etc/estatehub             hub-N.env is written here (mode 0600)
#   HTTP_PORT           8079+N                     this hub's API port (8080 for hub 1)
#   METRICS_PORT        9463+N                     its Prometheus port (9464 for hub 1)
#   SHARE_GROUP         estatehub                  must match mqtt.shareGroup of every hub
#   MOSQUITTO_PID_FILE  (unset)                    set: SIGHUP that pid; unset: systemctl reload mosquitto
set -euo pipefail

n=${1:?usage: add-hub.sh <hub number>}
[[ $n =~ ^[1-9][0-9]{0,2}$ ]] || { echo "add-hub.sh: hub number must be 1-999, got '$n'" >&2; exit 2; }
broker_dir=${BROKER_DIR:-/etc/mosquitto/estatehub}
env_dir=${ENV_DIR:-/etc/estatehub}
http_port=${HTTP_PORT:-$((8079 + n))}
metrics_port=${METRICS_PORT:-$((9463 + n))}
share_group=${SHARE_GROUP:-estatehub}
user="estatehub-hub-$n"

# One user name per hub: with use_username_as_clientid the user name is the MQTT client id, and
# two hubs with one id would keep disconnecting each other (and share one persistent session).
password=$(openssl rand -base64 24 | tr '+/' '-_')
touch "$broker_dir/passwd"
chmod 0600 "$broker_dir/passwd"
# The broker reads the file after dropping root (and again on every reload): give it to its user.
if [[ $(id -u) == 0 ]] && id "${BROKER_USER:-mosquitto}" >/dev/null 2>&1; then
  chown "${BROKER_USER:-mosquitto}:" "$broker_dir/passwd"
fi
mosquitto_passwd -b "$broker_dir/passwd" "$user" "$password"

if ! grep -qx "user $user" "$broker_dir/acl"; then
  cat >>"$broker_dir/acl" <<ACL

user $user
topic read estatehub/v1/gw/+/batch
topic read estatehub/v1/gw/+/status
topic write estatehub/v1/gw/+/ack
ACL
fi

install -d -m 0750 "$env_dir"
umask 077
cat >"$env_dir/hub-$n.env" <<ENV
# estatehub-hub@$n: read by deploy/cluster/hub.yaml (with cluster.env). Written by add-hub.sh.
ESTATEHUB_HUB_NAME=$user
ESTATEHUB_HTTP_PORT=$http_port
ESTATEHUB_METRICS_PORT=$metrics_port
ESTATEHUB_MQTT_USERNAME=$user
ESTATEHUB_MQTT_PASSWORD=$password
ESTATEHUB_MQTT_SHARE_GROUP=$share_group
ENV

"$(dirname "$0")/reload-broker.sh"
echo "hub $n: broker user $user, env $env_dir/hub-$n.env (API port $http_port, metrics $metrics_port)"
