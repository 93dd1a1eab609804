"""The engine: container records, lifecycle orchestration, the monitor, logs, bundles."""
