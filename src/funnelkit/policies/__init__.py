"""Policies that ship with funnelkit: starting points to copy and adapt.

Each is a function that builds a fresh value, so a caller can never change
the shipped default for everyone else in the process.
"""

from __future__ import annotations

from datetime import timedelta
from importlib import resources

from funnelkit import kinds
from funnelkit._calendar import BusinessCalendar
from funnelkit._config import load_policy
from funnelkit._criteria import (
    BantQualified,
    DidActivity,
    GradeAtLeast,
    ScoreAtLeast,
)
from funnelkit._decay import HalfLife
from funnelkit._policy import ANY_OPEN, FunnelPolicy, Stage, Transition
from funnelkit._predicates import between, equals, matches, one_of
from funnelkit._rules import ActivityRule, AttributeRule
from funnelkit._scoring import Grades, ScoringModel
from funnelkit._sla import EXIT, Escalate, SlaRule

__all__ = [
    "DISQUALIFY_REASONS",
    "MQL_ENGAGEMENT",
    "MQL_FIT",
    "RECYCLE_REASONS",
    "b2b_saas",
    "b2b_scoring_model",
    "product_led",
]

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
    quote or demo request, contact sales, a meeting; a stated timeline is
    BANT's, not a score's);
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


#: The engagement score a lead needs to become an MQL in :func:`b2b_saas`.
MQL_ENGAGEMENT = 40

#: The fit score a lead needs to become an MQL in :func:`b2b_saas`.
MQL_FIT = 30

#: Why sales hands a lead back to marketing's nurture programme.
RECYCLE_REASONS = ("bad_timing", "no_budget_yet", "no_response", "not_ready")

#: Why a lead leaves the funnel for good.
DISQUALIFY_REASONS = (
    "no_budget",
    "bad_timing",
    "not_decision_maker",
    "competitor",
    "bad_data",
    "not_a_fit",
    "duplicate",
)

#: What counts as engaging again, for a recycled lead: anything positive.
_ENGAGING = frozenset(
    {
        kinds.PAGE_VIEW,
        kinds.PRICING_PAGE_VIEW,
        kinds.FORM_SUBMIT,
        kinds.CONTENT_DOWNLOAD,
        kinds.WEBINAR_REGISTERED,
        kinds.WEBINAR_ATTENDED,
        kinds.EMAIL_CLICK,
        kinds.SOCIAL_ENGAGEMENT,
        kinds.FREE_TRIAL_SIGNUP,
    }
    | kinds.HAND_RAISERS
)


def b2b_saas(*, timezone: str = "UTC") -> FunnelPolicy:
    """Return the default B2B SaaS funnel (``"b2b-saas"``, version 1).

    Args:
        timezone: The IANA time zone of the sales team, whose Monday to
            Friday, 09:00 to 17:00, is the calendar of the SLAs.

    Stages: ``lead``, ``mql``, ``sal``, ``sql``, ``opportunity``, ``customer``
    (won), ``nurture`` (recycled) and ``disqualified`` (lost); scored by
    :func:`b2b_scoring_model`. The rules, in the order the funnel tries the
    automatic ones:

    1. **Hand-raiser fast track** (automatic, from ``lead``, ``mql`` or
       ``nurture`` to ``sql``): a demo or quote request made in the stage, by
       a lead of fit grade B or better. Such a buyer has asked for sales;
       making them wait in marketing's queue loses them.
    2. **Marketing qualified** (automatic, ``lead -> mql``): engagement
       score at least :data:`MQL_ENGAGEMENT` and fit at least :data:`MQL_FIT`.
    3. **Sales accepts** (``mql -> sal``), by hand: a rep takes the lead.
    4. **Sales qualified** (``sal -> sql``), by hand, guarded: BANT with 3 of
       4 met, or a hand-raising action (:data:`funnelkit.kinds.HAND_RAISERS`).
    5. **Opportunity** (``sql -> opportunity``) and **won**
       (``opportunity -> customer``), by hand.
    6. **Recycle** (``mql``, ``sal`` or ``sql`` to ``nurture``), by hand, with
       a reason code from :data:`RECYCLE_REASONS`: not now is not never.
    7. **Disqualify** (any open or nurture stage to ``disqualified``), by
       hand, with a reason code from :data:`DISQUALIFY_REASONS`.
    8. **Re-engaged** (automatic, ``nurture -> mql``): the lead did something
       engaging since it was recycled and its engagement is back at the MQL
       threshold. Old engagement alone does not bring it back.
    9. **Re-open** (``disqualified -> nurture``), by hand, with a reason: a
       disqualified lead that turns out to fit after all.

    The SLAs, in business time on the sales team's calendar:

    - **mql_accepted**: sales accepts or rejects every MQL (it leaves
      ``mql``) within 8 business hours; a warning at 75%, and a breach
      escalates to the ``sales_manager``. An MQL left waiting goes cold.
    - **first_touch**: a rep logs a touch (:data:`funnelkit.kinds.SALES_TOUCH`)
      within 1 business hour of accepting the lead: a lead contacted within
      the hour is several times likelier to qualify.
    - **sql_worked**: an SQL becomes an opportunity, or is recycled, within
      10 business days, so the pipeline holds no forgotten leads (any exit
      keeps it, a disqualification too: what it asks for is a decision).

    >>> policy = b2b_saas()
    >>> policy.label, [stage.name for stage in policy.stages][:4]
    ('b2b-saas@1', ['lead', 'mql', 'sal', 'sql'])
    """
    return FunnelPolicy(
        name="b2b-saas",
        version=1,
        stages=[
            Stage("lead", description="new, not yet qualified"),
            Stage("mql", description="marketing qualified: handed to sales"),
            Stage("sal", description="sales accepted: a rep works the lead"),
            Stage("sql", description="sales qualified: intent to buy"),
            Stage("opportunity", description="a deal in the sales pipeline"),
            Stage("customer", "won", description="bought"),
            Stage("nurture", "nurture", description="recycled: not ready yet"),
            Stage("disqualified", "lost", description="out of the funnel"),
        ],
        transitions=[
            Transition(
                source={"lead", "mql", "nurture"},
                target="sql",
                guard=DidActivity(
                    {kinds.DEMO_REQUEST, kinds.QUOTE_REQUEST}, in_stage=True
                )
                & GradeAtLeast("B"),
                auto=True,
                name="hand-raiser fast track",
            ),
            Transition(
                source="lead",
                target="mql",
                guard=ScoreAtLeast(MQL_ENGAGEMENT, "engagement")
                & ScoreAtLeast(MQL_FIT, "fit"),
                auto=True,
                name="marketing qualified",
            ),
            Transition(source="mql", target="sal", name="sales accepts"),
            Transition(
                source="sal",
                target="sql",
                guard=BantQualified(3) | DidActivity(kinds.HAND_RAISERS),
                name="sales qualified",
            ),
            Transition(source="sql", target="opportunity", name="opportunity"),
            Transition(source="opportunity", target="customer", name="won"),
            Transition(
                source={"mql", "sal", "sql"},
                target="nurture",
                reasons=RECYCLE_REASONS,
                name="recycle",
            ),
            Transition(
                source=ANY_OPEN,
                target="disqualified",
                reasons=DISQUALIFY_REASONS,
                name="disqualify",
            ),
            Transition(
                source="nurture",
                target="mql",
                guard=DidActivity(_ENGAGING, in_stage=True)
                & ScoreAtLeast(MQL_ENGAGEMENT, "engagement"),
                auto=True,
                name="re-engaged",
            ),
            Transition(
                source="disqualified",
                target="nurture",
                requires_reason=True,
                reopen=True,
                name="re-open",
            ),
        ],
        initial="lead",
        scoring=b2b_scoring_model(),
        slas=[
            SlaRule(
                "mql_accepted",
                "mql",
                "8 business hours",
                EXIT,
                warn_at=0.75,
                on_breach=Escalate("sales_manager"),
            ),
            SlaRule("first_touch", "sal", "1 business hour", kinds.SALES_TOUCH),
            SlaRule("sql_worked", "sql", "10 business days", EXIT),
        ],
        calendar=BusinessCalendar.weekdays("09:00", "17:00", timezone=timezone),
    )


def product_led() -> FunnelPolicy:
    """Return the product-led SaaS funnel (``"product-led"``, version 1).

    Read from the policy file ``product_led.toml`` that ships beside this
    module: copy it to start a policy of your own. A free trial is the way
    in, and product usage qualifies: a trial that creates a project and
    invites a teammate is ``activated``; heavy use by a good-fit account
    (engagement 60, fit grade B) makes it a ``pql`` that sales must touch
    within 4 business hours; a trial quiet for 14 days goes to ``nurture``,
    and a purchase in the product makes a ``customer`` from any open stage.
    See the "Product-led policy" page of the documentation.

    >>> policy = product_led()
    >>> policy.label, policy.initial
    ('product-led@1', 'trial')
    """
    text = resources.files(__name__).joinpath("product_led.toml").read_text("utf-8")
    return load_policy(text, format="toml")
