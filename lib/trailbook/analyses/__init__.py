"""Analyses: pandas over query results (baselines, scoring, findings)."""
