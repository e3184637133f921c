"""The comparison's defaults, without imports: `crossfade compare --help` reads them."""

# Practical equivalence: a difference below this does not matter for a decision (--margin).
# Why 5%: docs/metrics.md, "Practical equivalence".
DEFAULT_MARGIN = 0.05
# Fewer repeats than this rank nothing: one repeat says nothing of how runs differ.
MIN_REPEATS = 2
# What `crossfade compare --repeat` defaults to and a shortage suggests: with 3 the interval
# is 9.9 standard errors wide on each side at 0.99, with 2 it is 63.7 (`intervals`).
DEFAULT_REPEATS = 3
