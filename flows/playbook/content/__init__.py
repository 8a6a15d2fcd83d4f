"""The example value-content library shipped with the playbook."""
