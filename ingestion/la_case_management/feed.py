"""The LA case-management feed: one database per LA, read through SQLAlchemy."""

from ingestion.feed import Agreement, Feed, KpiModels

FEED = Feed(
    name="la_case_management",
    description="LA SEND case-management system (SSD/SEN2 tables), one database per LA.",
    kind="database",
    agreements=(
        Agreement(
            "la_case_management",
            kpi_feeds=("la_case_management",),
            # One LA's newest change ($area: the LA read; '' for every LA).
            newest_data_sql="select max(last_modified_at)::date from raw_la_case_management.ssd_ehcp_requests "
            "where $area = '' or area_code = $area",
        ),
    ),
    read="ingestion.la_case_management.extract:read",
    kpi_models=KpiModels(
        values={"la_case_management": "la_case_management"},
        periods=("la_case_management",),
        periods_by_locality=("la_case_management",),  # a child's postcode district places the case
    ),
    connection_id="la_case_management",
    tracks_deletions=True,
)
