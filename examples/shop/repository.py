"""Repository layer: talks to the database and to the password hasher."""

import asyncio
import hashlib
import time

METRICS = []


# A pool hands each query a connection of its own, so these may run at once.
async def get_user(pool, user_id):
    return await pool.fetchrow("SELECT * FROM users WHERE id = $1", user_id)


async def list_orders(pool, user_id):
    return await pool.fetch("SELECT * FROM orders WHERE user_id = $1", user_id)


async def get_wishlist(pool, user_id):
    return await pool.fetch("SELECT * FROM wishlist WHERE user_id = $1", user_id)


async def create_order(db, user_id):
    for attempt in range(3):
        try:
            return await db.fetch_val("INSERT INTO orders (user_id) VALUES ($1) RETURNING id", user_id)
        except ConnectionError:
            # Back off before the next attempt.
            time.sleep(0.1 * 2**attempt)
    raise ConnectionError("database unavailable")


async def add_items(db, order_id, items):
    # Two statements on one connection: most drivers allow one operation at a
    # time, so these must not be gathered.
    await db.execute("DELETE FROM order_items WHERE order_id = $1", order_id)
    await db.execute("INSERT INTO order_items SELECT $1, unnest($2::int[])", order_id, items)


async def hash_password(password):
    loop = asyncio.get_running_loop()
    # The worker thread does not see the caller's context variables.
    return await loop.run_in_executor(None, hashlib.sha256, password.encode())


async def store_metric(name, value):
    METRICS.append((name, value))
