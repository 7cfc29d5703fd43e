"""The app's queries: one module per page's data, each query one named SQL constant with bound
parameters, run through `dashboards.store` (cached, one client)."""
