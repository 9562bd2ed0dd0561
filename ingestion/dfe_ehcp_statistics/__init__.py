"""The DfE "Education, health and care plans" release (feed.py declares it, contract.yml is its
contract, release.py lands it)."""
