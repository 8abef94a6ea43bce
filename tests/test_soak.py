"""A short soak (bench/soak.py runs the long one): train/pause/resume/stop cycles and closing the
window mid-training, mid-evaluation and mid-Personalise, with no crash and no thread left behind."""

from bench.soak import soak


def test_short_soak(qapp, tmp_path, monkeypatch):
    # soak() points the data and home folders at tmp_path and answers "Discard" on quitting;
    # registering them here first makes monkeypatch restore them afterwards.
    monkeypatch.setenv("DIGIT_STUDIO_DATA", "")
    monkeypatch.setenv("DIGIT_STUDIO_HOME", str(tmp_path / "home"))
    monkeypatch.setattr("gui.main_window.ask_to_save", None)
    lines = []
    result = soak(3, tmp_path, lines.append)
    assert result["stopped_runs"] == 3 and result["threads"] <= 0
    assert any("closed during Personalise" in line for line in lines)
