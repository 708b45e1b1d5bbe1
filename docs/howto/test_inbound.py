"""The inbound lead policy, tested as marketing and sales agreed it."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from funnelkit import Activity, Event, Funnel, Lead, StageChanged, load_policy
from funnelkit.testing import Case, ManualClock, Scenario, check_policy
from funnelkit.testing.strategies import activity_streams

POLICY = load_policy(Path(__file__).with_name("inbound.toml"))
MONDAY = datetime(2026, 3, 2, 9, tzinfo=UTC)  # 09:00 in London, in winter
FIT: dict[str, str | int] = {
    "industry": "software",
    "employees": 300,
    "title": "Head of Data",
}

# -- Stories: one lead's weeks, step by step


def test_sales_has_a_day_to_accept_an_mql_and_three_to_keep_it() -> None:
    """An engaged lead becomes an MQL; unaccepted, it goes back to nurture."""
    (
        Scenario(POLICY)  # starts on Monday 2 March 2026, 09:00 in London
        .lead(industry="software", employees=300, title="Head of Data")
        .expect_grade("A")
        .does("webinar_attended")
        .at("+30m")
        .does("content_download")
        .at("+30m")
        .does("content_download")
        .expect_stage("lead")
        .at("2026-03-03 11:00")
        .does("pricing_page_view")
        .expect_stage("mql")
        .expect_score(fit=60, engagement=pytest.approx(40.2, abs=0.1))
        .advance("6 business hours")
        .expect_warning("mql_accepted")
        .advance("2 business hours")
        .expect_breach("mql_accepted")
        .at("2026-03-06 10:59")
        .expect_stage("mql")
        .advance("1 minute")
        .expect_stage("nurture")
        .expect_breach("mql_recycled")
    )


def test_an_unsubscribe_holds_a_lead_back_for_30_days() -> None:
    """A lead who unsubscribed is not handed to sales, however engaged."""
    (
        Scenario(POLICY)
        .lead(industry="software", employees=300, title="Head of Data")
        .does("unsubscribe")
        .expect_score(engagement=0)
        .at("2026-03-20 10:00")
        .does("webinar_attended")
        .does("webinar_attended")
        .does("demo_request")
        .does("content_download")
        .does("pricing_page_view")
        .expect_score(engagement=63)
        .expect_stage("lead")
        .at("2026-04-01 10:00")  # 30 days on: 09:00 GMT was 10:00 BST by then
        .expect_stage("lead")
        .advance("1 minute")
        .expect_stage("mql")
    )


# -- A table: many leads, and where each should end


def did(lead: Lead, *kinds: str, start: datetime = MONDAY) -> list[Activity]:
    """The lead's activities, ten minutes apart from *start*."""
    return [
        Activity(lead.id, kind, start + timedelta(minutes=10 * n))
        for n, kind in enumerate(kinds, start=1)
    ]


def test_the_table() -> None:
    """Every lead of the table ends in its stage, with its grade."""
    fit = Lead("fit", MONDAY, attributes=FIT)
    gmail = Lead("gmail", MONDAY, email="sam@gmail.com", attributes=FIT)
    small = Lead("small", MONDAY, attributes={"industry": "software", "employees": 8})
    engaged = (
        "webinar_attended",
        "webinar_attended",
        "content_download",
        "content_download",
    )
    cases = [
        Case(fit, did(fit, *engaged), expect_stage="mql", expect_grade="A"),
        Case(gmail, did(gmail, *engaged), expect_stage="mql", expect_grade="B"),
        Case(small, did(small, *engaged), expect_stage="lead", expect_grade="C"),
        Case(
            fit,
            did(fit, "unsubscribe", *engaged),
            expect_stage="lead",
            name="unsubscribed",
        ),
        Case(
            fit,
            did(fit, "unsubscribe")
            + did(fit, "demo_request", *engaged, start=MONDAY + timedelta(days=31)),
            expect_stage="mql",
            name="unsubscribed a month ago",
        ),
        Case(
            fit,
            [],
            expect_stage="nurture",
            at=MONDAY + timedelta(days=21),
            name="quiet",
        ),
    ]
    mismatches = check_policy(POLICY, cases)
    assert not mismatches, "\n\n".join(map(str, mismatches))


# -- A property: a rule that no history may break

ENGAGEMENT = st.sampled_from(
    [
        "content_download",
        "demo_request",
        "pricing_page_view",
        "unsubscribe",
        "webinar_attended",
    ]
)


# Deep histories (qualified, recycled, unsubscribed, back again) need more
# examples than Hypothesis's default hundred to be found.
@settings(max_examples=500)
@given(activity_streams("lead-1", kinds=ENGAGEMENT, start=MONDAY, max_size=30))
def test_no_lead_that_unsubscribed_in_the_last_30_days_becomes_an_mql(
    stream: list[Activity],
) -> None:
    """Whatever a lead did, it never became an MQL within 30 days of unsubscribing."""
    funnel = Funnel(POLICY, clock=ManualClock(MONDAY))
    funnel.add_lead(Lead("lead-1", MONDAY, attributes=FIT))
    unsubscribed: list[datetime] = []

    def check(events: list[Event]) -> None:
        for event in events:
            if isinstance(event, StageChanged) and event.record.target == "mql":
                since = event.at - timedelta(days=30)
                recent = [at for at in unsubscribed if at >= since]
                assert not recent, (
                    f"{event.record.source} -> mql at {event.at}, "
                    f"{len(recent)} unsubscribe(s) since {since}"
                )

    for activity in stream:
        check(funnel.tick(activity.at))  # time passes...
        if activity.kind == "unsubscribe":
            unsubscribed.append(activity.at)
        check(funnel.record(activity))  # ...and the lead does something
    check(funnel.tick(funnel.state("lead-1").updated_at + timedelta(days=60)))
