"""The Streamlit app for revenue-assurance analysts: pages only.

Queries go through `clickhouse`."""
