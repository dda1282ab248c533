"""Plots: matplotlib figures built from query results."""
