"""Manual returns: KPI scorecards, the PAP milestone tracker, the risk register and survey results
(feed.py declares it, contract.yml is its contract, workbooks.py lands them)."""
