{#- The run's as-of date and Airflow run id. The DAG passes them as environment variables, not
    --vars: a new --vars value makes dbt re-parse the whole project (~5 s a run), a changed
    env_var() only the few files that use it. --vars still works when the variables are unset. -#}
{% macro as_of_date() %}
    {{- return(env_var('SEND_AS_OF', var('as_of'))) -}}
{% endmacro %}

{% macro pipeline_run_id() %}
    {{- return(env_var('SEND_RUN_ID', var('run_id'))) -}}
{% endmacro %}
