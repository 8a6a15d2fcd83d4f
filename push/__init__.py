"""The push gate: every proactive message to a member passes here."""
