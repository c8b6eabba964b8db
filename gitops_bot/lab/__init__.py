"""A local monitoring lab: real Prometheus and Alertmanager processes plus a fake agent exporter.

Used by `make demo` (when the Debian binaries are installed) and by the end-to-end tests.
"""
