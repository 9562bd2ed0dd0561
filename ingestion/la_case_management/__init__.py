"""LA case-management system: SSD/SEN2 tables in each LA's database (feed.py declares it, contract.yml
is its contract, extract.py reads it)."""
