"""The DfE children's services statistical-neighbour list: each LA's ten closest LAs, for benchmarking."""

from ingestion.feed import Agreement, Feed

FEED = Feed(
    name="statistical_neighbours",
    description="DfE children's services statistical neighbours, 2025 refresh (public, as shipped with LAIT).",
    kind="files",
    agreements=(Agreement("statistical_neighbours", kpi_feeds=()),),  # refreshed every few years: never stale
    read="ingestion.statistical_neighbours.neighbours:read",
    inbox_env="SEND_STATISTICAL_NEIGHBOURS_DIR",  # the folder holding the list as downloaded
)
