"""The DuckDB warehouse: quality gate (Soda), publication (write-audit-publish) and the run ledger."""
