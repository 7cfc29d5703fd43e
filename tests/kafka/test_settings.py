"""Kafka client settings: flags over environment, security pass-through, clear errors."""
import pytest

from flows.kafka.settings import (
    consumer_config,
    client_config,
    kafka_settings,
    producer_config,
)


def test_bootstrap_comes_from_the_environment():
    conf = client_config({"REVGUARD_KAFKA_BOOTSTRAP": "kafka-1:9092,kafka-2:9092"})
    assert conf == {"bootstrap.servers": "kafka-1:9092,kafka-2:9092"}


def test_bootstrap_flag_wins_over_the_environment():
    conf = client_config({"REVGUARD_KAFKA_BOOTSTRAP": "env:9092"}, bootstrap="flag:9092")
    assert conf["bootstrap.servers"] == "flag:9092"


def test_missing_bootstrap_is_a_value_error_naming_the_variable():
    with pytest.raises(ValueError, match="REVGUARD_KAFKA_BOOTSTRAP"):
        client_config({})


def test_blank_bootstrap_counts_as_missing():
    with pytest.raises(ValueError, match="REVGUARD_KAFKA_BOOTSTRAP"):
        client_config({"REVGUARD_KAFKA_BOOTSTRAP": "   "})


def test_security_settings_pass_through_as_librdkafka_keys():
    env = {
        "REVGUARD_KAFKA_BOOTSTRAP": "broker:9093",
        "REVGUARD_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "REVGUARD_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
        "REVGUARD_KAFKA_SASL_USERNAME": "revguard",
        "REVGUARD_KAFKA_SASL_PASSWORD": "s3cret",
        "REVGUARD_KAFKA_SSL_CA_LOCATION": "/etc/ssl/ca.pem",
    }
    assert client_config(env) == {
        "bootstrap.servers": "broker:9093",
        "security.protocol": "sasl_ssl",
        "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.username": "revguard",
        "sasl.password": "s3cret",
        "ssl.ca.location": "/etc/ssl/ca.pem",
    }


def test_generic_config_variable_becomes_a_dotted_lowercase_key():
    env = {
        "REVGUARD_KAFKA_BOOTSTRAP": "b:9092",
        "REVGUARD_KAFKA_CONFIG_SOCKET_TIMEOUT_MS": "30000",
        "REVGUARD_KAFKA_CONFIG_CLIENT_ID": "revguard-rating",
    }
    conf = client_config(env)
    assert conf["socket.timeout.ms"] == "30000"
    assert conf["client.id"] == "revguard-rating"


def test_named_setting_wins_over_generic_spelling_of_the_same_key():
    env = {
        "REVGUARD_KAFKA_BOOTSTRAP": "named:9092",
        "REVGUARD_KAFKA_CONFIG_BOOTSTRAP_SERVERS": "generic:9092",
        "REVGUARD_KAFKA_SASL_USERNAME": "named-user",
        "REVGUARD_KAFKA_CONFIG_SASL_USERNAME": "generic-user",
    }
    conf = client_config(env)
    assert conf["bootstrap.servers"] == "named:9092"
    assert conf["sasl.username"] == "named-user"


def test_unknown_security_protocol_is_a_value_error():
    env = {"REVGUARD_KAFKA_BOOTSTRAP": "b:9092", "REVGUARD_KAFKA_SECURITY_PROTOCOL": "tls"}
    with pytest.raises(ValueError, match="security protocol 'tls'"):
        client_config(env)


def test_password_is_not_shown_in_the_settings_repr():
    settings = kafka_settings(
        {"REVGUARD_KAFKA_BOOTSTRAP": "b:9092", "REVGUARD_KAFKA_SASL_PASSWORD": "s3cret"}
    )
    assert "s3cret" not in repr(settings)


def test_producer_defaults_give_way_to_the_users_config():
    env = {"REVGUARD_KAFKA_BOOTSTRAP": "b:9092", "REVGUARD_KAFKA_CONFIG_LINGER_MS": "0"}
    conf = producer_config(env)
    assert conf["linger.ms"] == "0"
    # Same partitioner as Java clients, so a key lands where their producers put it.
    assert conf["partitioner"] == "murmur2_random"


def test_consumer_config_names_the_group_and_leaves_commits_to_the_application():
    conf = consumer_config("rating", {"REVGUARD_KAFKA_BOOTSTRAP": "b:9092"})
    assert conf["group.id"] == "rating"
    assert conf["enable.auto.commit"] == "false"
    assert conf["bootstrap.servers"] == "b:9092"


def test_brokers_list_and_bytewax_config_split_the_bootstrap_from_the_rest():
    settings = kafka_settings(
        {
            "REVGUARD_KAFKA_BOOTSTRAP": "k1:9092, k2:9092",
            "REVGUARD_KAFKA_SECURITY_PROTOCOL": "ssl",
        }
    )
    assert settings.brokers() == ["k1:9092", "k2:9092"]
    assert settings.bytewax_add_config() == {"security.protocol": "ssl"}
