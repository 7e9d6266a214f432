"""The demo's tools: plain functions that parse, classify, enrich, draft and send tickets.

Each takes and returns JSON-compatible data, so every result can be journaled. ``pause`` makes
each one take a moment, so that progress is visible and a kill mid-run is realistic.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from string import Template
from typing import Any

__all__ = [
    "classify",
    "draft_reply",
    "list_tickets",
    "lookup_customer",
    "parse_ticket",
    "score_sentiment",
    "send_replies",
    "summarize",
]

Ticket = dict[str, Any]

_CATEGORIES: dict[str, tuple[str, ...]] = {
    "billing": ("charge", "invoice", "refund", "payment", "billing", "subscription", "vat"),
    "bug": ("error", "crash", "fails", "broken", "bug", "500", "not working", "exception"),
    "account": ("password", "log in", "login", "2fa", "account", "deactivate", "locked"),
}
_URGENT = ("urgent", "immediately", "asap", "today", "down", "blocked", "all users", "dispute")
_POSITIVE = ("great", "love", "thanks", "thank", "excellent", "nice", "appreciate")
_NEGATIVE = ("frustrating", "annoying", "unacceptable", "terrible", "blocked", "dispute", "never")
_TEMPLATES = {
    "billing": Template(
        'Hi $first,\n\nthank you for writing about "$subject". I have forwarded your request '
        "to our billing team, who will correct it and confirm by email within $sla.\n\n"
        "$closing\nThe Support Team\n"
    ),
    "bug": Template(
        'Hi $first,\n\nthank you for reporting "$subject". Our engineers are investigating '
        "and we will update you within $sla. If you can, reply with the time the problem "
        "occurred and a screenshot.\n\n$closing\nThe Support Team\n"
    ),
    "account": Template(
        'Hi $first,\n\nwe received your account request "$subject". For your security an '
        "agent will verify it and complete it within $sla.\n\n$closing\nThe Support Team\n"
    ),
    "other": Template(
        'Hi $first,\n\nthank you for your message "$subject". We have shared it with the '
        "product team.\n\n$closing\nThe Support Team\n"
    ),
}
_SLA = {"urgent": "2 hours", "high": "4 hours", "normal": "1 business day", "low": "3 days"}


def pause(seconds: float) -> None:
    """Take a moment, like a real tool calling a real system."""
    if seconds > 0:
        time.sleep(seconds)


def list_tickets(directory: str, delay: float = 0.0) -> list[str]:
    """The ticket files waiting in ``directory/tickets``, in name order."""
    pause(delay)
    return sorted(p.name for p in (Path(directory) / "tickets").glob("*.txt"))


def parse_ticket(directory: str, filename: str, delay: float = 0.0) -> Ticket:
    """Read one ticket file: ``From``/``Subject``/``Date`` headers, a blank line, the body."""
    pause(delay)
    text = (Path(directory) / "tickets" / filename).read_text(encoding="utf-8")
    head, _, body = text.partition("\n\n")
    headers = dict(line.split(": ", 1) for line in head.splitlines() if ": " in line)
    sender = headers.get("From", "")
    match = re.match(r"\s*(.*?)\s*<([^>]+)>", sender)
    name, email = (match.group(1), match.group(2)) if match else (sender, sender)
    return {
        "id": Path(filename).stem,
        "name": name,
        "email": email.lower(),
        "subject": headers.get("Subject", "(no subject)"),
        "date": headers.get("Date", ""),
        "body": body.strip(),
    }


def classify(ticket: Ticket, delay: float = 0.0) -> dict[str, str]:
    """Category by keyword rules (billing, bug, account, other) and a base priority."""
    pause(delay)
    text = f"{ticket['subject']} {ticket['body']}".lower()
    scores = {cat: sum(text.count(w) for w in words) for cat, words in _CATEGORIES.items()}
    category = max(scores, key=lambda c: scores[c]) if any(scores.values()) else "other"
    urgent = sum(w in text for w in _URGENT)
    priority = "urgent" if urgent >= 2 else "high" if urgent == 1 else "normal"
    if category == "other":
        priority = "low"
    return {"category": category, "priority": priority}


def lookup_customer(directory: str, email: str, delay: float = 0.0) -> dict[str, str]:
    """The customer's company and support tier from ``customers.json`` (by email domain)."""
    pause(delay)
    customers = json.loads((Path(directory) / "customers.json").read_text(encoding="utf-8"))
    domain = email.rsplit("@", 1)[-1]
    found = customers.get(domain)
    if found is None:
        return {"company": "", "tier": "free"}
    return {"company": found["company"], "tier": found["tier"]}


def score_sentiment(text: str, delay: float = 0.0) -> dict[str, Any]:
    """A sentiment score from word lists: positive words minus negative words."""
    pause(delay)
    words = re.findall(r"[a-z']+", text.lower())
    score = sum(w in _POSITIVE for w in words) - sum(w in _NEGATIVE for w in words)
    label = "positive" if score > 0 else "negative" if score < 0 else "neutral"
    return {"score": score, "label": label}


def draft_reply(
    ticket: Ticket,
    labels: dict[str, str],
    customer: dict[str, str],
    sentiment: dict[str, Any],
    delay: float = 0.0,
) -> dict[str, Any]:
    """A reply from the category's template; enterprise or upset customers get a faster SLA."""
    pause(delay)
    priority = labels["priority"]
    if priority == "normal" and (customer["tier"] == "enterprise" or sentiment["score"] < -1):
        priority = "high"
    closing = "We are sorry for the trouble." if sentiment["label"] == "negative" else "Best,"
    body = _TEMPLATES[labels["category"]].substitute(
        first=(ticket["name"].split() or ["there"])[0],
        subject=ticket["subject"],
        sla=_SLA[priority],
        closing=closing,
    )
    return {
        "ticket": ticket["id"],
        "to": ticket["email"],
        "subject": f"Re: {ticket['subject']}",
        "category": labels["category"],
        "priority": priority,
        "tier": customer["tier"],
        "sentiment": sentiment["label"],
        "body": body,
    }


def send_replies(directory: str, drafts: list[dict[str, Any]], delay: float = 0.0) -> list[str]:
    """ "Send" the replies: write each to ``directory/outbox``. Side effects; not idempotent."""
    pause(delay)
    outbox = Path(directory) / "outbox"
    outbox.mkdir(exist_ok=True)
    sent = []
    for draft in drafts:
        path = outbox / f"{draft['ticket']}.eml"
        message = f"To: {draft['to']}\nSubject: {draft['subject']}\n\n{draft['body']}"
        path.write_text(message, encoding="utf-8")
        sent.append(path.name)
    return sent


def summarize(
    drafts: list[dict[str, Any]], sent: list[str], decision: dict[str, Any]
) -> dict[str, Any]:
    """The run's result: counts by category and priority, what was sent, who decided."""
    by_category: dict[str, int] = {}
    by_priority: dict[str, int] = {}
    for draft in drafts:
        by_category[draft["category"]] = by_category.get(draft["category"], 0) + 1
        by_priority[draft["priority"]] = by_priority.get(draft["priority"], 0) + 1
    return {
        "tickets": len(drafts),
        "by_category": dict(sorted(by_category.items())),
        "by_priority": dict(sorted(by_priority.items())),
        "decision": decision.get("decision", "approve"),
        "decided_by": decision.get("by", ""),
        "sent": sent,
    }
