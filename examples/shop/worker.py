"""Background worker: sends receipts and polls for work."""

import asyncio
from time import sleep

import requests


async def fetch_recipient(user_id):
    await asyncio.sleep(0.01)
    return f"user{user_id}@example.com"


async def send_receipt(user_id, order_id):
    address = await fetch_recipient(user_id)
    # A blocking HTTP call inside a coroutine.
    requests.post("https://mail.example.com/send", json={"to": address, "order": order_id})


async def notify_all(user_ids):
    for user_id in user_ids:
        await send_receipt(user_id, None)


async def poll(queue, handle):
    while True:
        if queue.empty():
            sleep(1)  # wait for work
            continue
        job = await queue.get()
        await handle(job)
