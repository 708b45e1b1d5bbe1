"""Policies that ship with funnelkit: starting points to copy and adapt.

Each is a function that builds a fresh value, so a caller can never change
the shipped default for everyone else in the process.
"""

from __future__ import annotations

from datetime import timedelta

from funnelkit import kinds
from funnelkit._decay import HalfLife
from funnelkit._predicates import between, equals, matches, one_of
from funnelkit._rules import ActivityRule, AttributeRule
from funnelkit._scoring import Grades, ScoringModel

__all__ = ["b2b_scoring_model"]

_DAY = timedelta(days=1)
_WEEK = timedelta(weeks=1)

#: Free email providers: a business buyer rarely writes from one.
_FREE_EMAIL_DOMAINS = (
    r"(^|\.)(gmail|googlemail|yahoo|hotmail|outlook|live|aol|icloud|gmx|web|proton)"
    r"\.[a-z.]+$"
)


def b2b_scoring_model() -> ScoringModel:
    """Return the default B2B scoring model (``"b2b-default"``).

    **Fit** (the ideal customer profile of a B2B software vendor, at most 100):
    target industries +20, 200 to 5,000 employees +20 (50 to 199: +10), a
    senior title +15 (a manager +5), a target country +10, confirmed budget
    and authority +10 each; a free-mail address -10, a student address -20.

    **Engagement** (what the lead did lately, 0 to 100, points halving every
    30 days): the marketing-qualified behaviours count modestly and are capped
    (page views, email, social, downloads, webinars, forms, a free trial); the
    sales-qualified behaviours count most (pricing page, pricing inquiry,
    quote or demo request, contact sales, a meeting, a stated timeline);
    an unsubscribe and a hard bounce subtract and do not fade.

    >>> model = b2b_scoring_model()
    >>> model.name, len(model.rules)
    ('b2b-default', 25)
    """
    return ScoringModel(
        "b2b-default",
        [
            # -- fit: does the lead look like our ideal customer?
            AttributeRule(
                "industry",
                one_of(
                    "software", "saas", "information_technology", "financial_services"
                ),
                20,
                name="target industry",
            ),
            AttributeRule(
                "employees", between(200, 5000), 20, name="mid-market or enterprise"
            ),
            AttributeRule("employees", between(50, 199), 10, name="growing company"),
            AttributeRule(
                "title",
                matches(
                    r"\b(vp|vice president|chief|c[etior]o|head|director)\b",
                    ignore_case=True,
                ),
                15,
                name="senior title",
            ),
            AttributeRule(
                "title", matches(r"\bmanager\b", ignore_case=True), 5, name="manager"
            ),
            AttributeRule(
                "country",
                one_of("US", "CA", "GB", "DE", "FR", "NL"),
                10,
                name="target country",
            ),
            AttributeRule("bant.budget", equals(True), 10, name="budget confirmed"),
            AttributeRule("bant.authority", equals(True), 10, name="decision maker"),
            AttributeRule(
                "email.domain",
                matches(_FREE_EMAIL_DOMAINS),
                -10,
                name="free email address",
            ),
            AttributeRule(
                "email.domain",
                matches(r"(\.edu|\.ac\.[a-z]+)$"),
                -20,
                name="student address",
            ),
            # -- engagement: marketing-qualified behaviour, modest and capped
            ActivityRule(kinds.PAGE_VIEW, 1, max_count=5, per=_DAY, max_points=10),
            ActivityRule(kinds.EMAIL_OPEN, 1, max_count=3, per=_WEEK, max_points=5),
            ActivityRule(kinds.EMAIL_CLICK, 3, max_count=3, per=_WEEK, max_points=15),
            ActivityRule(
                kinds.SOCIAL_ENGAGEMENT, 2, max_count=2, per=_DAY, max_points=10
            ),
            ActivityRule(kinds.CONTENT_DOWNLOAD, 8, max_points=24),
            ActivityRule(kinds.WEBINAR_REGISTERED, 5, max_points=10),
            ActivityRule(kinds.WEBINAR_ATTENDED, 15, max_points=30),
            ActivityRule(kinds.FORM_SUBMIT, 5, max_count=2, per=_DAY, max_points=15),
            ActivityRule(kinds.FREE_TRIAL_SIGNUP, 20, max_count=1),
            # -- engagement: sales-qualified behaviour, the strongest signals
            ActivityRule(
                kinds.PRICING_PAGE_VIEW, 10, max_count=1, per=_DAY, max_points=20
            ),
            ActivityRule(kinds.PRICING_INQUIRY, 20, max_count=1, per=_WEEK),
            ActivityRule(
                [kinds.DEMO_REQUEST, kinds.QUOTE_REQUEST], 30, max_count=1, per=_WEEK
            ),
            ActivityRule(
                [kinds.CONTACT_SALES, kinds.MEETING_SCHEDULED],
                25,
                max_count=1,
                per=_WEEK,
            ),
            # -- engagement: negative signals, which do not fade
            ActivityRule(kinds.UNSUBSCRIBE, -25, decay=None, max_count=1),
            ActivityRule(
                kinds.EMAIL_BOUNCE, -10, where={"type": "hard"}, decay=None, max_count=1
            ),
        ],
        decay=HalfLife(timedelta(days=30)),
        grades=Grades(),
        limits={"fit": (-50, 100), "engagement": (0, 100)},
    )
