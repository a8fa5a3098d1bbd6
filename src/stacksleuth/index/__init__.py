"""Events in an embedded columnar store (DuckDB over Parquet): a second question costs a query, not a re-read."""
