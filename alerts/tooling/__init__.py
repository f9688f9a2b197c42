"""The offline commands' work: ``flashpoint rules check|test|explain|schema`` and
``flashpoint report``. Above the engine, which they run; ``streams/cli.py`` parses their
arguments."""
