"""Plots and run reports."""
