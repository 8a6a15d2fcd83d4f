"""Chat commands of the push feature: /broadcast and /segment."""
