"""Fetching, exporting and validating repository commits: the fetch job, mirror upkeep, the validation steps."""
