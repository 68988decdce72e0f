"""The local store: a real SQLite file through Peewee, opened and checked at start-up."""
