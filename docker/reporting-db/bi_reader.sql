-- The reporting database's read-only role for BI tools (docs/bi.md), created once: publication
-- (warehouse/publish.py) never drops the schema or its tables, so these grants hold across publications,
-- and the default privileges give SELECT on any table a later publication adds.
--
-- Run by docker/reporting-db/10-bi-reader.sh on the reporting-db service's first start (an empty volume),
-- as the publishing user. On a managed or native PostgreSQL, run it once as the user the pipeline
-- publishes with (AIRFLOW_CONN_SEND_REPORTING's login), e.g.
--   SEND_BI_PASSWORD=... psql "$REPORTING_URL" -v ON_ERROR_STOP=1 -f docker/reporting-db/bi_reader.sql
-- Variables (psql -v NAME=value), all optional:
--   schema       the reporting schema (default send_reporting, as warehouse/publish.py Targets)
--   reader_role  the read-only group role holding the grants (default send_bi_reader)
--   bi_login     a login in that role for BI tools (default send_bi; empty: none). Its password is read
--                from the environment variable SEND_BI_PASSWORD, never from the command line.
-- Idempotent: running it again changes nothing that is already in place.

\set ON_ERROR_STOP on
\if :{?schema}
\else
  \set schema send_reporting
\endif
\if :{?reader_role}
\else
  \set reader_role send_bi_reader
\endif
\if :{?bi_login}
\else
  \set bi_login send_bi
\endif
\getenv bi_password SEND_BI_PASSWORD

-- The group role: no login, only privileges. People and BI gateways get their own login in it.
select format('create role %I nologin', :'reader_role')
where not exists (select from pg_roles where rolname = :'reader_role') \gexec

-- The schema exists before the first publication, owned by the publishing user, so its default
-- privileges can be set now.
create schema if not exists :"schema";

select format('grant connect on database %I to %I', current_database(), :'reader_role') \gexec
grant usage on schema :"schema" to :"reader_role";
grant select on all tables in schema :"schema" to :"reader_role";
alter default privileges in schema :"schema" grant select on tables to :"reader_role";

-- The login BI tools use, in the group role, read-only even if someone grants it more by mistake.
\if :{?bi_password}
  select :'bi_login' <> '' as make_login \gset
\else
  \set make_login false
\endif
\if :make_login
  select format('create role %I login in role %I', :'bi_login', :'reader_role')
  where not exists (select from pg_roles where rolname = :'bi_login') \gexec
  select format('alter role %I password %L', :'bi_login', :'bi_password') \gexec
  select format('alter role %I set default_transaction_read_only = on', :'bi_login') \gexec
  select format('alter role %I set search_path = %I', :'bi_login', :'schema') \gexec
\endif
