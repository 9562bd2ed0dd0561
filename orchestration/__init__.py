"""Airflow-facing glue: settings, DAG defaults, alerts and the local run commands."""
