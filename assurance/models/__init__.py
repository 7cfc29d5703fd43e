"""Models over the store: features as SQL aggregates in ClickHouse, anomaly, churn and leakage
models (scikit-learn), and the registry that saves them with their metadata under REVGUARD_HOME."""
