"""The ICB provider files: person-level referral snapshots and aggregate waiting lists, under two
data-sharing agreements blocked independently."""

from ingestion.feed import Agreement, Feed, KpiModels

FEED = Feed(
    name="icb_nd_pathway",
    description="ICB / NHS provider files for the neurodevelopmental (autism / ADHD) pathway.",
    kind="files",
    agreements=(
        Agreement(
            "icb_nd_referrals",
            kpi_feeds=("icb_nd_referrals",),
            tables=("nd_referrals",),
            newest_data_sql="select max(snapshot_date) from raw_icb_nd_pathway.nd_referrals",
        ),
        Agreement(
            "icb_nd_waiting_list",
            kpi_feeds=("icb_nd_waiting_list",),
            tables=("nd_waiting_list",),
            newest_data_sql="select max(snapshot_date) from raw_icb_nd_pathway.nd_waiting_list",
        ),
    ),
    read="ingestion.icb_nd_pathway.provider_files:read",
    kpi_models=KpiModels(
        values={"icb_nd_referrals": "icb_nd_referrals", "icb_nd_waiting_list": "icb_nd_waiting_list"},
        periods=("icb_nd_referrals", "icb_nd_waiting_list"),
        periods_by_kpi=("icb_nd_referrals", "icb_nd_waiting_list"),  # per pathway: providers differ
    ),
)
