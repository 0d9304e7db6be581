"""HTTP handler layer: one coroutine per request."""

import asyncio
import threading

from . import repository
from .repository import get_user, get_wishlist, list_orders
from .worker import send_receipt

# Per-request state, as it was written for a threaded server. Under asyncio
# every request runs on the same thread, so one request sees another's user.
_request = threading.local()


def current_user():
    return _request.user


async def record_metric(name, value):
    await repository.store_metric(name, value)


async def order_summary(pool, user_id):
    _request.user = user_id
    # Three independent queries, awaited one after the other: the handler
    # takes as long as all three together, though each could take its own
    # connection from the pool.
    user = await get_user(pool, user_id)
    orders = await list_orders(pool, user_id)
    wishlist = await get_wishlist(pool, user_id)
    record_metric("summary", 1)  # the coroutine is created and dropped: it never runs
    return {"user": user, "orders": orders, "wishlist": wishlist}


async def place_order(db, user_id, items):
    _request.user = user_id
    # These two depend on each other and must stay in order.
    order_id = await repository.create_order(db, user_id)
    await repository.add_items(db, order_id, items)
    # Fire and forget: the event loop keeps only a weak reference to the task.
    asyncio.create_task(send_receipt(user_id, order_id))
    return order_id
