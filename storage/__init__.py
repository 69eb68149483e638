"""The comment store: one port, an embedded SQLite backend, Cassandra for clusters."""
