"""Routing: rules from the configuration decide a new ticket's queue, priority and tags."""

from helpdesk_ingest.routing.rules import RouteDecision, RoutingRule, route

__all__ = ["RouteDecision", "RoutingRule", "route"]
