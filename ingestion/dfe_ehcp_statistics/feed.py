"""The DfE's annual EHC plans release for every LA, region and England: the public benchmark."""

from ingestion.feed import Agreement, Feed

FEED = Feed(
    name="dfe_ehcp_statistics",
    description='DfE "Education, health and care plans" statistics (public, Open Government Licence).',
    kind="files",
    agreements=(Agreement("dfe_ehcp_statistics", kpi_feeds=()),),  # annual: never judged stale
    read="ingestion.dfe_ehcp_statistics.release:read",
    inbox_env="SEND_DFE_RELEASE_DIR",  # the release folder as downloaded
)
