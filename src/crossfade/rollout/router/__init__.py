"""`crossfade route`: an asyncio HTTP router in front of several LLM backends.

Clients speak Triton's generate API or OpenAI's completions and chat APIs; each request is parsed
into one canonical request (`front`), sent to a backend chosen by weight or sticky key (`choose`)
in that backend's own dialect (a `bench.dialects` object, the one the bench clients use),
and its answer re-encoded in the client's API (`replies`). Fallback happens only before the first
byte reached the client; health (`health`) ejects and restores backends; shadow mode mirrors a
share of the requests (`shadow`); the admin API (`admin`) reads and sets the `state`; Prometheus
series (`metrics`) and the observations ring (`observations`) are what a canary reads.
"""
