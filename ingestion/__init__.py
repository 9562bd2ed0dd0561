"""Source feeds -> validated, pseudonymised landing files -> DuckDB raw schema. No Airflow imports."""
