"""Player session service: game events in, complete sessions out, stored in Cassandra."""

__version__ = "0.1.0"
