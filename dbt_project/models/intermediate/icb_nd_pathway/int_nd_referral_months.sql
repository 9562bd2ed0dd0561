-- Each live referral against each month its provider sent a snapshot for (the months the provider's
-- person-level data covers), with the pathway clocks evaluated at that month:
--   received in the month; first contact in the month; the first-contact clock (13 weeks: on the 91st
--   day is on time, the 92nd late) resolved in the month: contacted in time this month, or the 91st day
--   passed this month without a contact (late, whether the child is contacted later or never). Every
--   referral is counted once, so not contacting a child never shrinks the denominator; a referral
--   closed by its 91st day without contact owed none. Waiting at the month end = received on or
--   before it, no assessment
--   started and not closed (outcome) on or before it; waited over 13 weeks = more than 91 days,
--   over 52 weeks = more than 364 days at the month end; offered support while waiting = flagged Y with
--   no date or a date on or before the month end. The latest snapshot of a referral holds its state.
with referrals as (
    select * from {{ ref('stg_icb_nd_pathway__referrals') }}
    where not is_deleted_at_provider
),

provider_months as (
    select distinct
        provider_ods_code,
        snapshot_month as period_start,
        snapshot_date as period_end
    from {{ ref('stg_icb_nd_pathway__referral_snapshots') }}
),

clocked as (
    select
        referrals.provider_ods_code,
        referrals.referral_id,
        referrals.local_authority_code as area_code,
        referrals.pathway,
        provider_months.period_start,
        provider_months.period_end,
        referrals.referral_received_date between provider_months.period_start
        and provider_months.period_end as is_received_in_month,
        coalesce(
            referrals.first_contact_date between provider_months.period_start and provider_months.period_end, false
        ) as is_first_contact_in_month,
        referrals.first_contact_date - referrals.referral_received_date as days_to_first_contact,
        (referrals.referral_received_date + interval 91 day)::date as first_contact_deadline,
        referrals.first_contact_date,
        referrals.closed_date,
        referrals.referral_received_date <= provider_months.period_end
        and coalesce(referrals.assessment_start_date > provider_months.period_end, true)
        and coalesce(referrals.closed_date > provider_months.period_end, true) as is_waiting_at_month_end,
        provider_months.period_end - referrals.referral_received_date as days_since_referral,
        coalesce(referrals.support_offered, false)
        and coalesce(referrals.support_offered_date <= provider_months.period_end, true) as has_support_offered
    from referrals
    inner join provider_months
        on
            referrals.provider_ods_code = provider_months.provider_ods_code
            and referrals.referral_received_date <= provider_months.period_end
            and coalesce(referrals.closed_date, provider_months.period_start) >= provider_months.period_start
)

select
    provider_ods_code,
    referral_id,
    area_code,
    pathway,
    period_start,
    is_received_in_month,
    is_first_contact_in_month,
    case when is_first_contact_in_month then days_to_first_contact end as days_to_first_contact,
    case
        when is_first_contact_in_month and days_to_first_contact <= 91 then true
        when
            first_contact_deadline between period_start and period_end
            and coalesce(first_contact_date > first_contact_deadline, true)
            -- closed by day 91 with no contact by then (a contact dated after the closure included)
            and not (
                coalesce(closed_date <= first_contact_deadline, false)
                and coalesce(first_contact_date > closed_date, true)
            )
            then false
    end as is_first_contact_within_13_weeks,
    is_waiting_at_month_end,
    case when is_waiting_at_month_end then days_since_referral end as days_waiting,
    is_waiting_at_month_end and days_since_referral > 91 as is_waiting_over_13_weeks,
    is_waiting_at_month_end and days_since_referral > 364 as is_waiting_over_52_weeks,
    is_waiting_at_month_end and has_support_offered as is_waiting_with_support
from clocked
where
    is_received_in_month
    or is_first_contact_in_month
    or is_waiting_at_month_end
    or first_contact_deadline between period_start and period_end
