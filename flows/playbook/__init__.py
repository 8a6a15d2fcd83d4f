"""The default playbook: flow definitions (YAML) read by flows.definition."""
