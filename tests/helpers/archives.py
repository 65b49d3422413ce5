"""A small French archive built from hand-written transcripts, with sidecars and short WAV files: the
search tests' archive (``search_archive`` in conftest.py indexes it)."""

from __future__ import annotations

from helpers import write_wav

SEARCH_EPISODES = {
    # episode id: (sidecar yaml or None, has audio, [(start, end, text, speaker, flags)])
    "2010/cm-table-ronde": ("""
title: "Table ronde : les community managers"
date: 2010-11-05
speakers:
  - {name: Alice Martin, start: 0, end: 30}
  - {name: Bruno Dupont, start: 30, end: 60}
chapters:
  - {start: 0, title: Introduction}
  - {start: 30, title: Débat sur l'animation}
""", True, [
        (0, 5, "Bonjour à tous, aujourd'hui on parle des réseaux sociaux.", None, []),
        (5, 10, "L'engagement d’une communauté, c'est le travail du community manager.", None, []),
        (10, 15, "Qu'il soit animateur ou modérateur, il doit animer la communauté jusqu'à tard.", None, []),
        (15, 20, "Suivez @owni et le hashtag #cm pour les événements de la semaine.", None, []),
        (20, 25, "La visibilité des marques sur les réseaux", None, []),
        (25, 30, "sociaux reste un vrai défi pour les entreprises.", None, []),
        (30, 35, "Je pense vraiment que les communautés se gèrent au quotidien.", None, []),
        (35, 40, "<script>alert(1)</script> & <b>gras</b> n'est pas du texte normal.", None, []),
        (40, 45, "Merci d'avoir regardé cette vidéo sur les réseaux sociaux.", None, ["phantom", "suspect"]),
    ]),
    "2011/owni-debat": ("""
title: "Débat OWNI : journalisme et réseaux"
date: 2011-03-15
speakers: [Claire Petit]
""", True, [
        (0, 6, "Le journalisme de données chez Owni, c'est une nouvelle visibilite.", None, []),
        (6, 12, "Les réseaux sociaux changent le métier de journaliste.", None, []),
        (12, 18, "Une communauté de lecteurs très engagée commente chaque article.", None, []),
        (18, 24, "Les evenements en direct attirent le public.", None, []),
    ]),
    "2012/sans-sidecar": (None, False, [
        (0, 5, "Sociaux mais pas réseaux : ici l'ordre des mots est inversé.", "Denis", []),
        (5, 10, "Un community manager anime la communauté des fans.", "Denis", []),
    ]),
}


def search_transcript(episode_id, rows, audio_path=None):
    from indexer.transcript import Segment, Transcript

    segments = [Segment(id=i, start=float(s), end=float(e), text=text, speaker=speaker, flags=list(flags))
                for i, (s, e, text, speaker, flags) in enumerate(rows)]
    return Transcript(episode_id=episode_id, audio_path=audio_path or f"{episode_id}.wav",
                      audio_sha256="0" * 64, duration=float(rows[-1][1]), language="fr", model="test",
                      engine="test", options={}, segments=segments, created="2026-01-01T00:00:00")


def build_search_archive(root, episodes=None):
    """Write audio, sidecars and transcripts of ``episodes`` under ``root`` (no index)."""
    from indexer.transcript import save_transcript

    for episode_id, (sidecar, has_audio, rows) in (episodes or SEARCH_EPISODES).items():
        audio = root / "audio" / f"{episode_id}.wav"
        if has_audio:
            write_wav(audio, rows[-1][1] + 2)
        if sidecar:
            audio.with_suffix(".yaml").parent.mkdir(parents=True, exist_ok=True)
            audio.with_suffix(".yaml").write_text(sidecar, encoding="utf-8")
        save_transcript(search_transcript(episode_id, rows), root / "transcripts" / f"{episode_id}.json")
    return root


# Two episodes for search by meaning (``meaning_archive`` in conftest.py: fake embedding model).
MEANING_EPISODES = {
    "2013/entretien": ("title: Entretien\ndate: 2013-05-02\nspeakers: [Claire Dubois]\n", True, [
        (0, 5, "Bonjour et bienvenue.", None, []),
        (5, 10, "La modération des commentaires demande une équipe.", None, []),
        (10, 15, "Les modérateurs travaillent le soir.", None, []),
        (15, 20, "La confiance se construit avec le public.", None, ["suspect", "low-logprob"]),
        (20, 25, "La confiance se construit avec le public.", None, []),
    ]),
    "2011/debat": ("title: Débat\ndate: 2011-02-01\nspeakers: [Julien Morel]\n", True, [
        (0, 5, "Un forum anime une communauté.", None, []),
        (5, 10, "Les abonnés suivent la marque.", None, []),
        (10, 15, "Un événement réunit le public.", None, []),
    ]),
}
