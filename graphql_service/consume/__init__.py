"""`python -m graphql_service consume`: events from Kafka (or Azure Event Hubs' Kafka
endpoint) stored through the same `SessionService.submit_events` as `POST /events`.

    records.py   a record's bytes -> the events it holds, or why it is a bad record (pure)
    rounds.py    which offsets of a round of records may be committed (pure)
    kafka.py     the one module that imports the Kafka client (aiokafka)
    consumer.py  the loop: fetch a round, store it, dead-letter the bad, commit, repeat
    health.py    the process's /healthz, /readyz and /metrics
    runner.py    settings -> a running consumer; signals; Cassandra down at start-up
"""
