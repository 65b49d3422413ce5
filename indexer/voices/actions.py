"""Editors' renames, merges and forgets of voices: ``corrections/voices.actions.json``, an append-only log.

The voice library is derived (rebuilt at will); what an editor decided about
voices is not, so it lives with the corrections (the same lock, the same
folder, copied by ``working_copy``)::

    {"schema": 1, "actions": [
      {"kind": "rename", "names": ["Sandra"], "into": "Sandra Dupont", "who": "…", "when": "…"},
      {"kind": "merge", "names": ["S. Dupont", "Sandra Dupont"], "into": "Sandra Dupont", …},
      {"kind": "forget", "names": ["Julien"], "into": "", …}]}

A rename or merge shows every name in ``names`` as ``into``, wherever it
appears (the library, automatic and confirmed names, sidecars). A forget takes
the voice out of the library: it names nothing automatically until an editor
names it again; the names editors gave it in their episodes stay.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass

from ..archive import ArchiveLayout
from ..corrections import overlay_lock, speaker_name
from ..corrections.edits import _who
from ..errors import VoiceError
from ..files import atomic_write_json

SCHEMA_VERSION = 1
KINDS = ("rename", "merge", "forget")


@dataclass(frozen=True)
class VoiceAction:
    kind: str
    names: tuple[str, ...]
    into: str = ""
    who: str = ""
    when: str = ""

    def to_dict(self) -> dict:
        return {**asdict(self), "names": list(self.names)}


def load_actions(layout: ArchiveLayout) -> list[VoiceAction]:
    """The log, oldest first ([] when there is none); VoiceError when it is damaged (fix it by hand:
    it is the only record of these decisions)."""
    path = layout.voice_actions_path
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    except (OSError, ValueError) as e:
        raise VoiceError(f"voice actions are not valid JSON: {e}", path, "fix it by hand") from e
    if not isinstance(data, dict) or data.get("schema") != SCHEMA_VERSION or not isinstance(data.get("actions"), list):
        raise VoiceError(f"voice actions: schema {data.get('schema') if isinstance(data, dict) else None!r} "
                         f"is not supported (expected {SCHEMA_VERSION} with an 'actions' list)", path)
    actions = []
    for entry in data["actions"]:
        try:
            action = VoiceAction(str(entry["kind"]), tuple(str(n) for n in entry["names"]), str(entry.get("into", "")),
                                 str(entry.get("who", "")), str(entry.get("when", "")))
        except (KeyError, TypeError) as e:
            raise VoiceError(f"a voice action has a missing or wrong field: {e}", path, "fix or remove it") from e
        if action.kind not in KINDS:
            raise VoiceError(f"unknown voice action {action.kind!r} (valid: {', '.join(KINDS)})", path)
        actions.append(action)
    return actions


def record_action(layout: ArchiveLayout, action: VoiceAction) -> VoiceAction:
    """Append ``action`` to the log, under the corrections' lock, atomically."""
    with overlay_lock(layout.root):
        actions = load_actions(layout) + [action]
        atomic_write_json(layout.voice_actions_path, {"schema": SCHEMA_VERSION,
                                                      "actions": [a.to_dict() for a in actions]},
                          ensure_ascii=False, indent=1)
    return action


def make_action(kind: str, names, into: str = "", author: str | None = None) -> VoiceAction:
    """A checked action: names are texts without control characters, a rename or merge has a target."""
    if isinstance(names, str):
        names = [names]
    checked = tuple(speaker_name(n, "a voice") for n in names)
    if not checked:
        raise VoiceError(f"{kind}: name at least one voice")
    if kind != "forget":
        into = speaker_name(into, "the voice")
        checked = tuple(n for n in checked if n != into) or checked
    return VoiceAction(kind, checked, into if kind != "forget" else "", _who(author),
                       dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"))


def rename_map(actions: list[VoiceAction]) -> dict[str, str]:
    """Name -> the name shown for it after every rename and merge (chains followed)."""
    shown: dict[str, str] = {}
    for action in actions:
        if action.kind == "forget":
            continue
        for name in action.names:
            if name == action.into:
                continue
            for old, new in list(shown.items()):
                if new == name:
                    shown[old] = action.into
            shown[name] = action.into
        shown.pop(action.into, None)  # a name renamed back to itself shows as itself
    return shown


def forgotten(actions: list[VoiceAction], renamed: dict[str, str]) -> dict[str, str]:
    """Shown name -> when it was last forgotten (a name given again after that is known again)."""
    found: dict[str, str] = {}
    for action in actions:
        if action.kind == "forget":
            for name in action.names:
                found[renamed.get(name, name)] = action.when
    return found

