"""ICB / NHS provider files for the neurodevelopmental pathway (feed.py declares it, contract.yml is its
contract, provider_files.py lands them)."""
