"""The Streamlit app for revenue-assurance analysts: `app.py` and its pages (one module a page),
one query module per page's data under `queries/`; every query goes through `clickhouse`."""
