from actions.db.engine import create_engine
from actions.settings import Settings, async_database_url


def test_the_pool_uses_the_configured_sizes(monkeypatch, database_url):
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("DB_POOL_SIZE", "7")
    settings = Settings.from_env()
    engine = create_engine(settings)
    assert (engine.pool.size(), engine.pool._max_overflow, engine.pool._timeout, engine.pool._recycle) == (
        7,
        20,
        30,
        1800,
    )


def test_plain_postgres_urls_are_used_with_psycopg_3():
    assert async_database_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert async_database_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
