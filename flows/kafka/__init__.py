"""Kafka plumbing for the flows: client settings, topic names, a local broker, NDJSON feeding, topic reading.
Nothing here rates anything; it moves records in and out of Kafka-protocol brokers."""
