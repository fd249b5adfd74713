"""Checking logic for the graded exercises: one module per assignment (``ex05`` for assignment 05).

Graded test cells call into these modules, so a hidden test reads as a call, not as the answer, and
``course check`` runs exactly what nbgrader runs.
"""
