"""AIM, the application: settings, composition root, ingest, identity, rules, search and the CLI."""

__version__ = "0.1.0"
