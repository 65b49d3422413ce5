"""The transcript player moved to :mod:`indexer.display.player` (HTML, widget, bridge),
:mod:`indexer.display.player_data` and :mod:`indexer.display.player_audio`; this module keeps
the old import path working."""

from .display.player import (Player, basket_bridge, context_player, episode_player, hit_player, json_for_script,
                             player_html, quote_player, static_text)
from .display.player_audio import notebook_audio, page_audio, server_root
from .display.player_data import AudioSource, PlayerOptions, marked_words, player_data, wire_data

__all__ = ["AudioSource", "Player", "PlayerOptions", "basket_bridge", "context_player", "episode_player",
           "hit_player", "json_for_script", "wire_data", "marked_words", "notebook_audio", "page_audio", "player_data",
           "player_html", "quote_player", "server_root"]
