{#- The last day of "the period of `months` months starting with" `start_date`, as the Children and
    Families Act 2014 s.44(1) words the annual-review period ("within the period of 12 months starting
    with the date on which the plan was first made", then with the date of the previous review).
    "Starting with" includes that day, so the period ends the day before the corresponding date
    `months` on (plan made 15 May 2024: due by 14 May 2025). Where that month has no corresponding
    date (29 February + 12 months) the period ends on the last day of that month (28 February 2025):
    DuckDB's month arithmetic lands on that last day, so it is the end itself, not the day after.
    `months` may be an expression (12 * n for the n-th period). -#}
{% macro period_end_starting_with(start_date, months=12) -%}
    (case
        when day({{ start_date }} + to_months({{ months }})) < day({{ start_date }})
            then {{ start_date }} + to_months({{ months }})
        else {{ start_date }} + to_months({{ months }}) - interval 1 day
    end)::date
{%- endmacro %}
