"""The history of one LA's SEND service, simulated from its published DfE figures.

Requests arrive month by month; decisions to assess follow within weeks; agreed assessments queue
for a limited monthly capacity to finalise plans (the LA's published plans issued per year), part of
which goes to cases still inside the 20-week limit (the published on-time share) and the rest to
the oldest waiting. Plans in place before the history starts are migrated with SEN2 code H, plans
move in from other LAs, and plans cease so that each January census lands on the published
caseload. Reviews, advice, EP allocations, placements, needs, audits and post-16 activity hang off
that. Every row carries the dates it enters and changes the source (see synthetic.timeline).

One module per part of the world; `world` runs them in order from the LA's random streams.
"""

from synthetic.la_world.dates import nc_year, reception_year
from synthetic.la_world.persons import DISTRICTS
from synthetic.la_world.world import LaWorld, simulate

__all__ = ["DISTRICTS", "LaWorld", "nc_year", "reception_year", "simulate"]
