"""Roll back asks first (the one confirmation pattern): the device, the generation it goes back to and the one that
runs now, read from the target's profile as the generations list is."""
from __future__ import annotations

from flask import url_for

from deploy.generations import device_generations, find_generation
from deploy.hosts import TargetError
from deploy.service import CHOOSE_GENERATION
from errors import InputError
from views.rendering import confirm, settings


def _generation(g) -> str:
    commit = f", project commit {g.project_commit[:7]}" if g.project_commit else ""
    return f"generation {g.number} of {g.created.strftime('%Y-%m-%d %H:%M')} UTC{commit}"


def confirm_rollback(device, generation: str | None):
    page = url_for("configs.detail", kinds="devices", name=device.name)
    listing = url_for("deploy.generations", name=device.name)
    shown = [("Device", [(f"{device.display_name} ({device.target or 'no target'})", page, device.name)])]

    def refused(why: str, title: str = f"Roll back {device.display_name}?"):
        return confirm(title, "Nothing is rolled back.", note=why, action=None, button=None, cancel=page,
                       affected=shown)
    if not (generation or "").isdigit() or len(generation) > 9 or int(generation) < 1:
        return refused(CHOOSE_GENERATION)
    number = int(generation)
    try:
        profile, listed = device_generations(device.name, settings())
        chosen = find_generation(sorted(listed, key=lambda g: g.number), number, profile, device.target)  # as the job
    except (InputError, TargetError) as exc:
        return refused(exc.first.message if isinstance(exc, InputError) else str(exc))
    running = next((g for g in listed if g.current), None)
    if chosen.current:
        return refused(f"generation {number} is what runs now on {device.target}: there is nothing to roll back")
    title = f"Roll back {device.display_name} to generation {number}?"
    return confirm(title, f"This switches `{device.target}` back to {_generation(chosen)}: it becomes the current "
                   f"generation of `{profile}`; the others stay and can be switched back to.",
                   action=url_for("deploy.rollback", name=device.name), button="Roll back", danger=True,
                   cancel=page, fields={"generation": number},
                   affected=[*shown, ("Goes back to", [(_generation(chosen), listing, chosen.store_path)]),
                             ("Runs now", [(_generation(running), listing, running.store_path)] if running else [])])
