"""Flashpoint's moving parts: the faust app, topics, agents, sources, broker and CLI."""
