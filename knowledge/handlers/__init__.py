"""Chat handlers of the knowledge feature: answering questions, and learning from admins."""
