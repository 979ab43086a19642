"""The parts the incoming store is put together from (see store.py), one a concern, so that
each stays short: they share the database and the stream wake-ups (base.py) and nothing else."""
