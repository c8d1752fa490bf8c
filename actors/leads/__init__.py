"""Leads: capture, scoring, routing to a licensed broker, offers with deadlines."""
