"""A notification as an email (subject, text part, HTML part) and as an SMS, from the templates in
this package (`templates/<kind>.txt` and `templates/<kind>.html`, each extending its `base`).

HTML is autoescaped (a product name or reason holding markup shows as text); the text part is
not, it is plain text. StrictUndefined makes a template naming a fact its notification lacks fail
loudly in the unit tests instead of mailing a blank. Amounts are paise in the facts and shown as
rupees by the `rupees` filter."""

from __future__ import annotations

from functools import cache

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from bazaar.notifications.domain import Notification
from bazaar.notifications.order_updates import rupees
from bazaar.notifications.ports import Email, Recipient

# SNS sends at most 1600 characters; an SMS segment is 160 GSM characters (70 with ₹), so keep it short.
SMS_MAX_CHARACTERS = 300


@cache
def _environment() -> Environment:
    environment = Environment(
        loader=PackageLoader("bazaar.notifications", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False, default=False),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )
    environment.filters["rupees"] = lambda paise: rupees(int(paise))
    return environment


def template_names() -> list[str]:
    return _environment().list_templates()


def email_for(notification: Notification, recipient: Recipient) -> Email:
    context = {"name": recipient.name, "title": notification.title, "body": notification.body,
               "facts": notification.facts, "kind": notification.kind.value}
    environment = _environment()
    kind = notification.kind.value
    return Email(
        to=recipient.email,
        to_name=recipient.name,
        subject=notification.title,
        text=environment.get_template(f"{kind}.txt").render(context),
        html=environment.get_template(f"{kind}.html").render(context),
    )


def sms_for(notification: Notification) -> str:
    return f"Bazaar: {notification.title}. {notification.body}"[:SMS_MAX_CHARACTERS]
