"""PostgreSQL storage: tables, the engine and session factory, repositories and the unit of work."""
