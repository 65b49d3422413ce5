"""Graded search (issue 14): what was said is found even where the transcript is wrong.

Hand-made transcripts carry the recogniser's real mistakes seen on real
speech (« sauf gardée » for « sauvegardé », « RadioUSB », « Ajoint »,
« Renvoit », « et chaque » for « échec »...); each query is what a researcher
who remembers the moment would type. Words marked ``~`` get a low word
probability, as the recogniser gives such words.
"""

import json

import pytest
from click.testing import CliRunner

from helpers.archives import search_transcript

from indexer import Archive
from indexer.cli import main
from indexer.search import Match
from indexer.transcript import Word, save_transcript

MISHEARD = {
    "messagerie": (None, False, [
        (0, 4, "Votre message a bien été sauf~ gardée~.", None, []),
        (4, 8, "Le bip sonore s'est fait qu'en~ tendu~ dans la boîte.", None, []),
        (8, 12, "Branchez la RadioUSB~ sur le poste.", None, []),
        (12, 16, "Le document Ajoint~ au courrier est signé.", None, []),
        (16, 20, "Renvoit~ d'appel activé vers la boit~ de vocale.", None, []),
        (20, 24, "Après et~ chaque~ de la connexion, rappelez plus tard.", None, []),
        (24, 28, "Bienvenue à l'accueil du standard.", None, []),
        (28, 32, "La conférence sera prolongée de dix minutes.", None, []),
    ]),
    "bruit": (None, False, [
        # Decoys: one query word each, exactly, and nothing close to the others.
        (0, 4, "Un message de bienvenue très court.", None, []),
        (4, 8, "Le poste du standard est occupé.", None, []),
        (8, 12, "Un courrier arrive chaque matin.", None, []),
        (12, 16, "La connexion est lente aujourd'hui.", None, []),
        (16, 20, "Le document est sur la table.", None, []),
    ]),
}


def build_doubted_archive(root, episodes):
    """Transcripts whose words marked ``~`` have probability 0.2 (the others 0.95)."""
    for episode_id, (_, _, rows) in episodes.items():
        clean = [(s, e, text.replace("~", ""), *rest) for s, e, text, *rest in rows]
        transcript = search_transcript(episode_id, clean)
        for segment, (_, _, text, *_) in zip(transcript.segments, rows):
            tokens = text.split()
            step = (segment.end - segment.start) / len(tokens)
            segment.words = [Word(segment.start + i * step, segment.start + (i + 1) * step,
                                  " " + t.replace("~", ""), 0.2 if "~" in t else 0.95)
                             for i, t in enumerate(tokens)]
        save_transcript(transcript, root / "transcripts" / f"{episode_id}.json")
    archive = Archive(root)
    archive.reindex(progress=False)
    return archive


@pytest.fixture(scope="module")
def misheard(tmp_path_factory):
    return build_doubted_archive(tmp_path_factory.mktemp("graded") / "archive", MISHEARD)


def first(archive, query, **kwargs):
    hits = archive.search(query, **kwargs)
    assert hits, f"nothing for {query!r}"
    return hits[0]


@pytest.mark.parametrize("query, segment, word, form", [
    # split: one spoken word came out as two
    ("message sauvegardé", 0, "sauvegardé", "sauf gardée"),
    ("bip entendue", 1, "entendue", "qu'en tendu"),
    ("connexion échec", 5, "échec", "et chaque"),
    # joined: two spoken words came out as one
    ("Radio USB poste", 2, "Radio", "RadioUSB"),
    ("document a joint", 3, "joint", "Ajoint"),
    # misheard spelling, and the user's own typo
    ("renvoi appel", 4, "renvoi", "Renvoit"),
    ("acceuil standard", 6, "acceuil", "accueil"),
])
def test_misheard_words_are_found_and_marked_approximate(misheard, query, segment, word, form):
    hit = first(misheard, query)
    assert (hit.episode, hit.segment_id) == ("messagerie", segment)
    assert hit.matched[word] == Match.approx(form) and str(hit.matched[word]) == f"approx:{form}"
    assert hit.approximate
    assert form in hit.snippet.replace("&#x27;", "'")  # highlighted in the snippet


def test_one_wrong_word_of_two_still_finds_the_segment(misheard):
    # « timbre » came out as « beep »: nothing close, the other word carries the hit.
    hit = first(misheard, "timbre vocale")
    assert (hit.episode, hit.segment_id) == ("messagerie", 4)
    assert hit.to_dict()["matched"] == {"vocale": "exact"} and hit.approximate
    assert misheard.search("timbre vocale", match="all") == []


def test_order_is_exact_then_partial_then_approximate(tmp_path):
    episodes = {"ordre": (None, False, [
        (0, 4, "Le document a été sauf~ gardée~ hier.", None, []),       # approximate + exact
        (4, 8, "Le document est ici.", None, []),                        # partial: one word exact
        (8, 12, "Le document sauvegardé est ici.", None, []),             # every word exact
        (12, 16, "Rien a été sauf~ gardée~.", None, []),                  # approximate only
    ])}
    archive = build_doubted_archive(tmp_path / "archive", episodes)
    hits = archive.search("document sauvegardé")
    assert [h.segment_id for h in hits] == [2, 0, 1, 3]
    assert [h.to_dict()["matched"] for h in hits] == [
        {"document": "exact", "sauvegardé": "exact"},
        {"document": "exact", "sauvegardé": "approx:sauf gardée"},
        {"document": "exact"},
        {"sauvegardé": "approx:sauf gardée"},
    ]
    assert not hits[0].approximate and all(h.approximate for h in hits[1:])


def test_participles_are_found_from_the_infinitive(misheard):
    hit = first(misheard, "prolonger conférence", match="all")
    assert hit.segment_id == 7 and hit.to_dict()["matched"] == {"prolonger": "exact", "conférence": "exact"}


def test_strict_mode_and_explicit_syntax_keep_their_meaning(misheard):
    assert misheard.search("message sauvegardé", match="all") == []
    assert misheard.search("message AND sauvegardé") == []
    assert misheard.search('"message sauvegardé"') == []
    assert {(h.episode, h.segment_id) for h in misheard.search("sauvegardé OR bienvenue")} == {
        ("messagerie", 6), ("bruit", 0)}
    (negated,) = misheard.search("message NOT bienvenue")
    assert (negated.episode, negated.segment_id) == ("messagerie", 0)
    assert negated.to_dict()["matched"] == {"message": "exact"} and not negated.approximate  # « bienvenue » is not sought


def test_phrase_slop(misheard):
    assert misheard.search('"conférence minutes"') == []
    (hit,) = misheard.search('"conférence minutes"~3')
    assert hit.segment_id == 7


def test_a_word_never_said_gives_no_exact_hit(misheard):
    # Plausible words absent from the archive: nothing, or hits marked approximate.
    for query in ("parapluie", "randonnée montagne", "facture électricité"):
        assert all(h.approximate for h in misheard.search(query)), query


def test_low_probability_words_are_reached_further(tmp_path):
    """The recogniser doubted « tambour »: two edits from « timbre » are allowed there only."""
    def words(text, low):
        return [Word(i, i + 1, f" {w}", 0.2 if w == low else 0.95) for i, w in enumerate(text.split())]

    root = tmp_path / "archive"
    doubted = search_transcript("doute", [(0, 4, "le bip du tambour ici", None, [])])
    doubted.segments[0].words = words("le bip du tambour ici", "tambour")
    sure = search_transcript("sur", [(0, 4, "le bip du tambour ici", None, [])])
    sure.segments[0].words = words("le bip du tambour ici", None)
    for t in (doubted, sure):
        save_transcript(t, root / "transcripts" / f"{t.episode_id}.json")
    archive = Archive(root)
    archive.reindex(progress=False)
    hits = archive.search("timbre", match="words")
    assert [h.episode for h in hits] == ["doute"]
    assert hits[0].to_dict()["matched"] == {"timbre": "approx:tambour"}


def test_cli_json_and_text_carry_matched(misheard):
    runner = CliRunner()
    result = runner.invoke(main, ["search", "message sauvegardé", "--archive", str(misheard.root), "--json"])
    assert result.exit_code == 0, result.output
    hits = json.loads(result.output)
    assert hits[0]["matched"] == {"message": "exact", "sauvegardé": "approx:sauf gardée"}
    result = runner.invoke(main, ["search", "message sauvegardé", "--archive", str(misheard.root)])
    assert result.exit_code == 0 and "matched: message, sauvegardé ≈ sauf gardée" in result.output
    result = runner.invoke(main, ["search", "message sauvegardé", "--archive", str(misheard.root),
                                  "--match", "all"])
    assert result.exit_code == 0 and "sauf gardée" not in result.output


def test_html_table_shows_how_each_word_matched(misheard):
    html = misheard.search("message sauvegardé")._repr_html_()
    assert "<th>trouvé</th>" in html
    assert "<i title='forme approchée'>sauvegardé ≈ sauf gardée</i>" in html
