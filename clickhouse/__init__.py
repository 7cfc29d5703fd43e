"""The ClickHouse store: numbered migrations, the client factory, batched writers
and the embedded HTTP endpoint that shares one chDB directory between processes."""
