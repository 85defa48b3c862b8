"""``[sentiment] models``: a language scored by its own model, through the real processing stage and CLI.

Each model here is a tiny local BERT that always gives one label (see
``make_constant_classifier``), so a mention's label and stored model name show
which model scored it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sentiment_models import make_constant_classifier, store
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from listener.models import Mention
from listener.processing import Processor
from listener.sentiment.classifier import ModelLoadError
from listener.sentiment.stage import SentimentStep
from listener.settings import SentimentSettings, SettingsError, load_settings

TEXTS = {
    "en": "The new plan is great value and the support team was lovely",
    "pt": "O atendimento da loja foi ótimo e a entrega chegou antes do prazo",
    "es": "El servicio al cliente fue terrible y nadie me ayudó con la factura",
    "de": "Der Kundenservice war heute leider sehr langsam und unfreundlich",
}
GENERIC_NAMES = ("LABEL_0", "LABEL_1", "LABEL_2")
GENERIC_MAP = {"LABEL_0": "negative", "LABEL_1": "neutral", "LABEL_2": "positive"}


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """English says neutral, Portuguese positive, Spanish negative (its config names only LABEL_0..2)."""
    root = tmp_path_factory.mktemp("language-models")
    return {
        "en": make_constant_classifier(root / "english", "neutral"),
        "pt": make_constant_classifier(root / "portuguese", "positive"),
        "es": make_constant_classifier(root / "spanish", "negative", label_names=GENERIC_NAMES),
    }


def stored(engine: Engine) -> dict[int, Mention]:
    with Session(engine) as session:
        return {m.id: m for m in session.execute(select(Mention)).scalars()}


def settings_for(models: dict[str, Path]) -> SentimentSettings:
    return SentimentSettings(
        model=str(models["en"]),
        models={"pt": str(models["pt"]), "es": {"model": str(models["es"]), "label_map": GENERIC_MAP}},
    )


def test_each_language_is_scored_by_its_own_model_and_others_stay_unscored(
    engine: Engine, models: dict[str, Path]
) -> None:
    ids = store(engine, TEXTS)
    assert Processor(engine, [SentimentStep(settings_for(models))]).run_until_empty() == len(TEXTS)
    rows = stored(engine)
    for language, label in (("en", "neutral"), ("pt", "positive"), ("es", "negative")):
        mention = rows[ids[language]]
        assert (mention.language, mention.sentiment_label) == (language, label), language
        assert mention.sentiment_model == str(models[language]), language
        assert mention.sentiment_model_version and mention.sentiment_confidence > 0.9
    german = rows[ids["de"]]
    assert (german.language, german.sentiment_label, german.sentiment_confidence) == ("de", "unscored", None)


def test_languages_sharing_a_model_share_one_load(models: dict[str, Path]) -> None:
    step = SentimentStep(SentimentSettings(model=str(models["en"]), models={"pt": str(models["pt"]),
                                                                            "es": str(models["pt"])}))
    assert step.choices["pt"] == step.choices["es"]
    assert step.classifier_for(step.choices["pt"]) is step.classifier_for(step.choices["es"])


def test_a_language_model_loads_only_when_its_language_comes(
    sqlite_engine: Engine, models: dict[str, Path], tmp_path: Path
) -> None:
    not_a_model = tmp_path / "not-a-model"
    not_a_model.mkdir()
    step = SentimentStep(SentimentSettings(model=str(models["en"]), models={"pt": str(not_a_model)}))
    ids = store(sqlite_engine, {key: TEXTS[key] for key in ("en", "de", "pt")})
    with Session(sqlite_engine) as session:
        rows = {m.id: m for m in session.execute(select(Mention)).scalars()}
        step.process(session, [rows[ids["en"]], rows[ids["de"]]])
        assert [rows[ids[key]].sentiment_label for key in ("en", "de")] == ["neutral", "unscored"]
        with pytest.raises(ModelLoadError, match=r"^sentiment\.models\.pt: .*not-a-model"):
            step.process(session, [rows[ids["pt"]]])


def test_the_detector_knows_every_language_that_has_a_model(models: dict[str, Path]) -> None:
    settings = SentimentSettings(model=str(models["en"]), models={"sw": str(models["pt"])})
    step = SentimentStep(settings)
    assert "sw" in step.detector.languages
    text = "Huduma kwa wateja ilikuwa nzuri sana na bidhaa ilifika mapema kuliko tulivyotarajia"
    assert step.detector.detect(text) == "sw"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('{"xx": "/tmp"}', "setting sentiment.models: Value error, 'xx' is not an ISO 639-1 language code"),
        ('{"pt-BR": "/tmp"}', "setting sentiment.models: Value error, 'pt-BR' is not an ISO 639-1 language code"),
        ('{"pt": "/no/such/model"}', "setting sentiment.models.pt.model: Value error, directory '/no/such/model' "
                                     "does not exist"),
        ('{"pt": ""}', "setting sentiment.models.pt.model: Value error, must name a model"),
        ('{"en": "/tmp"}', "setting sentiment: Value error, en in both sentiment.languages (scored by "
                           "sentiment.model) and sentiment.models"),
        ('{"pt": {"model": "/tmp", "labels": {}}}', "setting sentiment.models.pt.labels: is not a known setting"),
    ],
)
def test_wrong_language_models_are_one_line_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch, value: str, expected: str
) -> None:
    monkeypatch.setenv("HARKEN_SENTIMENT__MODELS", value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert str(caught.value).startswith(expected)
    assert "\n" not in str(caught.value)


def test_a_model_file_instead_of_a_directory_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    weights = tmp_path / "model.safetensors"
    weights.write_bytes(b"")
    monkeypatch.setenv("HARKEN_SENTIMENT__MODELS", json.dumps({"es": str(weights)}))
    with pytest.raises(SettingsError, match=r"sentiment\.models\.es\.model: .* is a file, not a model directory"):
        load_settings()


def test_language_models_read_from_the_settings_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, models: dict[str, Path]
) -> None:
    config = tmp_path / "harken.toml"
    config.write_text(
        "[sentiment]\n"
        'languages = ["EN"]\n'
        f'models = {{ PT = "{models["pt"]}", es = {{ model = "{models["es"]}", label_map = {{ LABEL_0 = "negative",'
        ' LABEL_1 = "neutral", LABEL_2 = "positive" } } }\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("HARKEN_CONFIG", str(config))
    sentiment = load_settings().sentiment
    assert sentiment.languages == ["en"] and sentiment.scored_languages == ["en", "pt", "es"]
    assert sentiment.models["pt"].model == str(models["pt"]) and sentiment.models["pt"].label_map == {}
    assert sentiment.models["es"].label_map == GENERIC_MAP


def eval_cli(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "responders.cli", "sentiment", "eval", *args], capture_output=True,
                          text=True, env={**os.environ, **env}, cwd=cwd, timeout=600)


def test_eval_language_measures_that_language_model(models: dict[str, Path], tmp_path: Path) -> None:
    (tmp_path / "t.txt").write_text("Adorei o produto\nChegou quebrado\nEntrega amanhã\nÓtimo\n", encoding="utf-8")
    (tmp_path / "l.txt").write_text("positive\nnegative\nneutral\npositive\n", encoding="utf-8")
    env = {"HARKEN_SENTIMENT__MODEL": str(models["en"]),
           "HARKEN_SENTIMENT__MODELS": json.dumps({"pt": str(models["pt"])})}
    files = ("--texts", str(tmp_path / "t.txt"), "--labels", str(tmp_path / "l.txt"), "--json")
    portuguese = eval_cli(*files, "--language", "pt", env=env, cwd=tmp_path)
    assert portuguese.returncode == 0, portuguese.stderr
    assert json.loads(portuguese.stdout)["accuracy"] == pytest.approx(2 / 4)  # always "positive"
    main = eval_cli(*files, env=env, cwd=tmp_path)
    assert json.loads(main.stdout)["accuracy"] == pytest.approx(1 / 4)  # always "neutral"
    german = eval_cli(*files, "--language", "de", env=env, cwd=tmp_path)
    assert german.returncode == 2
    assert german.stderr.strip() == "harken: no model scores 'de': sentiment.languages are en, sentiment.models has pt"
