{#- Every dbt invocation that builds (build, run, seed, snapshot) leaves a row in ops.dbt_builds: started,
    then complete or failed. The pipeline's build plan (orchestration/build_plan.py) narrows a daily
    build to what changed only after a complete build it planned itself; after a failed, killed or
    hand-run build it builds the whole project again. -#}
{% macro record_build_start() %}
    {%- if execute and flags.WHICH in ('build', 'run', 'seed', 'snapshot') -%}
        create schema if not exists ops;
        create table if not exists ops.dbt_builds (
            invocation_id varchar primary key, plan_id varchar, run_id varchar, command varchar,
            as_of date, started_at timestamptz, finished_at timestamptz, status varchar
        );
        insert into ops.dbt_builds (invocation_id, plan_id, run_id, command, as_of, started_at, status)
        values ('{{ invocation_id }}', '{{ env_var("SEND_BUILD_PLAN", "") }}', '{{ pipeline_run_id() }}', '{{ flags.WHICH }}', date '{{ as_of_date() }}', now(), 'started');
    {%- endif -%}
{% endmacro %}

{% macro record_build_end(results) %}
    {%- if execute and flags.WHICH in ('build', 'run', 'seed', 'snapshot') -%}
        {%- set failed = results | selectattr('status', 'in', ['error', 'fail', 'skipped', 'runtime error']) | list -%}
        update ops.dbt_builds
        set finished_at = now(), status = '{{ "failed" if failed else "complete" }}'
        where invocation_id = '{{ invocation_id }}';
    {%- endif -%}
{% endmacro %}
