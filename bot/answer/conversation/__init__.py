"""Conversations: a turn read against the last ones (followups), answered by the same pipeline or from the last
answer's citations (about_answer), with the state kept between turns (state)."""
