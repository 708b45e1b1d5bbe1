"""The standard activity vocabulary: what marketing and sales say a lead did.

Kinds are plain strings, so a host application may use its own alongside
these (``"trial_project_created"``); the constants below only spare typos
and give rules and reports a shared language.

>>> from funnelkit import kinds
>>> kinds.DEMO_REQUEST
'demo_request'
>>> kinds.DEMO_REQUEST in kinds.HAND_RAISERS
True
"""

from __future__ import annotations

__all__ = [
    "CONTACT_SALES",
    "CONTENT_DOWNLOAD",
    "DEMO_REQUEST",
    "EMAIL_BOUNCE",
    "EMAIL_CLICK",
    "EMAIL_OPEN",
    "FORM_SUBMIT",
    "FREE_TRIAL_SIGNUP",
    "HAND_RAISERS",
    "MEETING_SCHEDULED",
    "NEGATIVE",
    "PAGE_VIEW",
    "PRICING_INQUIRY",
    "PRICING_PAGE_VIEW",
    "PURCHASE_TIMELINE_STATED",
    "QUOTE_REQUEST",
    "SALES_TOUCH",
    "SOCIAL_ENGAGEMENT",
    "STANDARD",
    "UNSUBSCRIBE",
    "WEBINAR_ATTENDED",
    "WEBINAR_REGISTERED",
]

# -- Web and content -------------------------------------------------------

#: A page of the web site was viewed (property ``url`` or ``path`` if known).
PAGE_VIEW = "page_view"
#: The pricing page was viewed: a stronger buying signal than any page view.
PRICING_PAGE_VIEW = "pricing_page_view"
#: A web form was submitted (newsletter, contact, gated content).
FORM_SUBMIT = "form_submit"
#: Gated content was downloaded; property ``asset`` says which
#: (``"ebook"``, ``"whitepaper"``, ``"case_study"``).
CONTENT_DOWNLOAD = "content_download"

# -- Events and email ------------------------------------------------------

#: The lead registered for a webinar.
WEBINAR_REGISTERED = "webinar_registered"
#: The lead attended a webinar (worth more than registering).
WEBINAR_ATTENDED = "webinar_attended"
#: A marketing email was opened.
EMAIL_OPEN = "email_open"
#: A link in a marketing email was clicked.
EMAIL_CLICK = "email_click"
#: The lead liked, shared or commented on the company's social posts.
SOCIAL_ENGAGEMENT = "social_engagement"

# -- Product and hand-raising ----------------------------------------------

#: The lead signed up for a free trial.
FREE_TRIAL_SIGNUP = "free_trial_signup"
#: The lead asked for a demo: a hand-raising action.
DEMO_REQUEST = "demo_request"
#: The lead asked for a quote: a hand-raising action.
QUOTE_REQUEST = "quote_request"
#: The lead asked about prices (chat, email, form): a hand-raising action.
PRICING_INQUIRY = "pricing_inquiry"
#: A meeting with sales was scheduled.
MEETING_SCHEDULED = "meeting_scheduled"
#: The lead asked to be contacted by sales.
CONTACT_SALES = "contact_sales"
#: The lead stated when they expect to buy (property ``timeline``, a date).
PURCHASE_TIMELINE_STATED = "purchase_timeline_stated"

# -- Negative signals ------------------------------------------------------

#: The lead unsubscribed from marketing email.
UNSUBSCRIBE = "unsubscribe"
#: An email to the lead bounced (property ``type``: ``"hard"`` or ``"soft"``).
EMAIL_BOUNCE = "email_bounce"

# -- Sales -----------------------------------------------------------------

#: A sales rep logged a call, email or meeting with the lead
#: (property ``channel``: ``"call"``, ``"email"``, ``"meeting"``).
SALES_TOUCH = "sales_touch"

# -- Groups ----------------------------------------------------------------

#: Actions by which a lead asks to talk to sales.
HAND_RAISERS: frozenset[str] = frozenset(
    {DEMO_REQUEST, QUOTE_REQUEST, PRICING_INQUIRY, CONTACT_SALES, MEETING_SCHEDULED}
)
#: Signals that a lead is less reachable or less interested.
NEGATIVE: frozenset[str] = frozenset({UNSUBSCRIBE, EMAIL_BOUNCE})
#: Every kind defined in this module.
STANDARD: frozenset[str] = frozenset(
    {
        PAGE_VIEW,
        PRICING_PAGE_VIEW,
        FORM_SUBMIT,
        CONTENT_DOWNLOAD,
        WEBINAR_REGISTERED,
        WEBINAR_ATTENDED,
        EMAIL_OPEN,
        EMAIL_CLICK,
        SOCIAL_ENGAGEMENT,
        FREE_TRIAL_SIGNUP,
        DEMO_REQUEST,
        QUOTE_REQUEST,
        PRICING_INQUIRY,
        MEETING_SCHEDULED,
        CONTACT_SALES,
        PURCHASE_TIMELINE_STATED,
        UNSUBSCRIBE,
        EMAIL_BOUNCE,
        SALES_TOUCH,
    }
)
