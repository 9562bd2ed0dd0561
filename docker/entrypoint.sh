#!/usr/bin/env bash
# Check the data volumes before any Airflow component starts: a volume the runtime user cannot write
# fails here with a plain message, not halfway through a task.
set -euo pipefail

for dir in "${SEND_DATA_DIR}" "$(dirname "${SEND_WAREHOUSE_PUBLISHED_PATH}")"; do
  if [[ -d "${dir}" && ! -w "${dir}" ]]; then
    echo "send-entrypoint: ${dir} is not writable by uid $(id -u); chown the volume to $(id -u):0" >&2
    exit 1
  fi
done

exec "$@"
