"""Turning a request's parsed events into its record (`ResponseTally`), the one place chunks and
token counts are decided; see the recording rules in `crossfade.bench.clients`.

A response that carries the whole text so far (`ParsedEvent.text_so_far`, the LLM API model's)
is cut here to its new part, since only the tally sees a request's events in order: the event's
`text` is replaced by that part, so whoever relays it (the router) passes on new text only.
Without the server's token counts each chunk with text counts one token and keeps its text
(`RequestRecord.chunk_text`), for `bench.lengths` to count after the run.
"""

from __future__ import annotations

from crossfade.bench.dialects.base import ParsedEvent
from crossfade.bench.protocol import RequestRecord


class ResponseTally:
    """Applies a request's parsed events to its record, in arrival order."""

    __slots__ = ("counted", "final", "record", "server_counts", "text_seen")

    def __init__(self, record: RequestRecord) -> None:
        self.record = record
        self.counted = 0  # tokens attributed to chunks so far
        self.final = False  # the final response (or [DONE]) has arrived
        self.server_counts = False  # the server has counted tokens for us
        self.text_seen = 0  # characters of a text-so-far stream already taken

    def add(self, event: ParsedEvent, now_ns: int) -> int:
        """Apply `event`; the output tokens it brought (0: no chunk), for a relay to pass on."""
        record = self.record
        if event.text_so_far:  # the text grows: the new part is what lies past the seen one
            so_far, seen = event.text, self.text_seen
            event.text = so_far[seen:]
            self.text_seen = max(seen, len(so_far))
        if event.input_tokens is not None and record.server_input_tokens is None:
            record.server_input_tokens = event.input_tokens
        if event.final:
            self.final = True
        if event.server_times is not None:  # the last report wins: it has every milestone
            record.server_times = event.server_times
        record.output_chars += len(event.text)
        if event.cumulative_tokens is not None:  # OpenAI usage: a running total
            self.server_counts = True
            record.server_output_tokens = event.cumulative_tokens
            if event.summary:
                return 0
            tokens = event.cumulative_tokens - self.counted
        elif event.tokens is not None:  # Triton: the tokens new in this response
            self.server_counts = True
            record.server_output_tokens = (record.server_output_tokens or 0) + event.tokens
            tokens = event.tokens
        elif self.server_counts or event.summary or not event.text:
            tokens = 0  # e.g. text a BLS held back, sent after its tokens were counted
        else:  # no count from the server: one token until the text is counted
            record.chunk_text.append(event.text)
            tokens = 1
        if tokens > 0:
            record.chunk_ns.append(now_ns)
            record.chunk_tokens.append(tokens)
            self.counted += tokens
            return tokens
        return 0
