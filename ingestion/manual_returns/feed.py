"""The manual returns the partnership's teams fill in: the trackers behind the governance KPIs and the
scorecard that stands in for a blocked feed."""

from ingestion.feed import Agreement, Feed, KpiModels

FEED = Feed(
    name="manual_returns",
    description="Manual KPI scorecards, PAP milestone tracker, risk register and survey results.",
    kind="files",
    agreements=(
        Agreement(
            "manual_returns",
            kpi_feeds=("pap_milestones", "risk_register", "survey_results"),
            newest_data_sql="select max(strptime(period, '%Y-%m'))::date + interval 1 month - interval 1 day "
            "from raw_manual_returns.kpi_scorecard",
        ),
    ),
    read="ingestion.manual_returns.workbooks:read",
    # The trackers' model names the catalogue feed of each row (pap_milestones, risk_register, survey_results).
    kpi_models=KpiModels(
        values={"manual_trackers": None, "manual_scorecard": "manual_scorecard"}, periods=("manual_trackers",)
    ),
)
