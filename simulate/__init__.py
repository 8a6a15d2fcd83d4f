"""``warmline simulate``: the whole playbook on synthetic members, on a virtual clock."""
