"""The parts the directory store is put together from (see store.py), one a concern, so that
each stays short: they share the database and the readers (base.py) and the SQL and rows
(rows.py)."""
