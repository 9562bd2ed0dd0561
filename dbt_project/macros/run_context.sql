{#- The run's as-of date and Airflow run id. The DAG passes them as environment variables, not
    --vars: a new --vars value makes dbt re-parse the whole project (~5 s a run). Read only when dbt
    executes, never while it parses: an env_var() read at parse time makes dbt re-parse every file that
    reads it whenever its value changes (every run: the run id; every day: the date), ~1.5 s of each
    daily build. Parsing sees the --vars defaults, which no parsed config depends on: both values only
    ever reach SQL. --vars still works when the variables are unset. -#}
{% macro as_of_date() %}
    {{- return(env_var('SEND_AS_OF', var('as_of')) if execute else var('as_of')) -}}
{% endmacro %}

{% macro pipeline_run_id() %}
    {{- return(env_var('SEND_RUN_ID', var('run_id')) if execute else var('run_id')) -}}
{% endmacro %}
