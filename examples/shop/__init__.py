"""A small order service, written the way async services often are at first:
it looks concurrent and is not. `asyncmend fix --diff --unsafe-fixes examples/`
shows what asyncmend makes of it."""
