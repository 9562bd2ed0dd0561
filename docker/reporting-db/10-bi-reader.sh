#!/usr/bin/env bash
# The reporting-db service's first start (postgres image, /docker-entrypoint-initdb.d/: runs once, on an
# empty volume): create the read-only role BI tools use and its login (docker/reporting-db/bi_reader.sql).
# Sourced or run by the image's entrypoint, as POSTGRES_USER (the user the pipeline publishes with).
set -e

if [[ -z "${SEND_BI_PASSWORD:-}" || "${SEND_BI_PASSWORD}" == *change-me* ]]; then
  echo "10-bi-reader.sh: set SEND_BI_PASSWORD in .env (not the change-me placeholder)" >&2
  exit 1
fi

psql -v ON_ERROR_STOP=1 --username "${POSTGRES_USER}" --dbname "${POSTGRES_DB}" \
  -v bi_login="${SEND_BI_LOGIN:-send_bi}" \
  -f /opt/send-reporting/bi_reader.sql
