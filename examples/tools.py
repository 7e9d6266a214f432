"""The Python tools that the example workflows in this folder call. Offline and deterministic.

Use them with ``register(registry)``::

    registry = ToolRegistry()
    register(registry)
    workflow = load_workflow("examples/order_approval.yaml", tools=registry)
"""

from __future__ import annotations

from typing import Any

from fluxio.definitions import ToolRegistry
from fluxio.engine import current_step
from fluxio.errors import StepFailed

PRICES = {"widget": 25.0, "gadget": 120.0, "gizmo": 900.0}
GREETINGS = {"en": "Hello, {name}!", "fr": "Bonjour, {name} !"}


def greet(name: str, language: str = "en") -> str:
    """A greeting for ``name`` in ``language`` (``en`` or ``fr``)."""
    return GREETINGS[language].format(name=name)


def join_lines(lines: list[str]) -> str:
    """The lines joined with newlines."""
    return "\n".join(lines)


def validate_order(order: dict[str, Any]) -> dict[str, Any]:
    """Check an order has an id, a customer and known items; return it normalised."""
    unknown = [i["sku"] for i in order.get("items", []) if i.get("sku") not in PRICES]
    if unknown or not order.get("items"):
        raise StepFailed(f"order has no items or unknown items: {unknown}", retryable=False)
    return {
        "order_id": str(order["order_id"]),
        "customer": str(order["customer"]),
        "items": [{"sku": i["sku"], "quantity": int(i.get("quantity", 1))} for i in order["items"]],
    }


def price_order(items: list[dict[str, Any]]) -> dict[str, Any]:
    """The order's lines and total."""
    lines = [{**i, "amount": PRICES[i["sku"]] * i["quantity"]} for i in items]
    return {"lines": lines, "total": sum(line["amount"] for line in lines)}


def reserve_stock(items: list[dict[str, Any]]) -> dict[str, Any]:
    """Reserve the items in the (pretend) warehouse."""
    return {"reserved": sum(i["quantity"] for i in items)}


def charge_card(customer: str, amount: float) -> dict[str, Any]:
    """Charge the customer; the idempotency key makes a real provider charge at most once."""
    key = current_step().idempotency_key
    return {"charge_id": f"ch_{key[:12]}", "customer": customer, "amount": amount}


def send_receipt(customer: str, charge: dict[str, Any]) -> str:
    """The receipt text that would be e-mailed."""
    return f"Dear {customer}, we charged {charge['amount']:.2f} ({charge['charge_id']})."


def log_event(message: str) -> str:
    """Record a message in the run's journal (the step's output)."""
    return message


def register(registry: ToolRegistry) -> ToolRegistry:
    """Register every example tool in ``registry`` and return it."""
    registry.register("greet", greet, description="Greet someone")
    registry.register("join_lines", join_lines, description="Join lines of text")
    registry.register("validate_order", validate_order, description="Validate an order")
    registry.register("price_order", price_order, description="Price an order")
    registry.register("reserve_stock", reserve_stock, side_effects=True, idempotent=True)
    registry.register(
        "charge_card",
        charge_card,
        side_effects=True,
        idempotent=False,
        timeout=30,
        description="Charge a customer's card",
    )
    registry.register("send_receipt", send_receipt, description="Write a receipt")
    registry.register("log_event", log_event, description="Record a message")
    return registry
