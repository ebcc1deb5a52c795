#!/usr/bin/env bash
# Mosquitto re-reads its password file and ACL on SIGHUP; connected clients keep their session,
# and a removed user's next connect is refused. Used by add-hub.sh and add-gateway.sh.
set -euo pipefail
if [[ -n ${MOSQUITTO_PID_FILE:-} ]]; then
  kill -HUP "$(cat "$MOSQUITTO_PID_FILE")"
elif command -v systemctl >/dev/null && systemctl is-active --quiet mosquitto 2>/dev/null; then
  systemctl reload mosquitto
else
  echo "reload-broker.sh: no running broker found; it reads the files when it starts" >&2
fi
