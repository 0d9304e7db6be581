"""HTTP handler layer: one coroutine per request."""

import asyncio
import threading

from . import repository
from .worker import send_receipt

# Per-request state, as it was written for a threaded server. Under asyncio
# every request runs on the same thread, so one request sees another's user.
_request = threading.local()


def current_user():
    return _request.user


async def record_metric(name, value):
    await repository.store_metric(name, value)


async def order_summary(db, user_id):
    _request.user = user_id
    # Three independent queries, awaited one after the other: the handler
    # takes as long as all three together.
    user = await repository.get_user(db, user_id)
    orders = await repository.list_orders(db, user_id)
    wishlist = await repository.get_wishlist(db, user_id)
    record_metric("summary", 1)  # never runs: the coroutine is created and dropped
    return {"user": user, "orders": orders, "wishlist": wishlist}


async def place_order(db, user_id, items):
    _request.user = user_id
    # These two depend on each other and must stay in order.
    order_id = await repository.create_order(db, user_id)
    await repository.add_items(db, order_id, items)
    # Fire and forget: the event loop keeps only a weak reference to the task.
    asyncio.create_task(send_receipt(user_id, order_id))
    return order_id
