"""The DfE children's services statistical neighbours (feed.py declares it, contract.yml is its contract,
neighbours.py lands it)."""
