"""Secrets modules use on devices: stored encrypted (service), found in settings (usage), delivered at deploy."""
