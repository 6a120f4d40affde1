"""Messages sent later: the outbox (rows claimed atomically), the worker that renders and sends
them, the rate-limited sender and the scheduler that ticks."""
