"""The command line, run as a user would: ``main.py ARGS``, in this process (as fast as a call) and, for
what only a real process shows (signals, the entry point), in a subprocess."""

import contextlib
import csv
import io
import json
import re
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from PIL import Image

import main as entry
from conftest import ROOT, mnist_digit_as_drawing


def main(*args):
    """``python main.py ARGS`` in this process: its exit status and what it printed."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = entry.main([str(a) for a in args])
        except SystemExit as exc:  # argparse: --help, --version, usage errors
            code = exc.code if isinstance(exc.code, int) else 1
    return SimpleNamespace(returncode=code, stdout=out.getvalue(), stderr=err.getvalue())


def main_process(*args, env=None, **kwargs):
    return subprocess.run([sys.executable, str(ROOT / "main.py"), *map(str, args)], capture_output=True,
                          text=True, cwd=ROOT, env=env, timeout=600, **kwargs)


@pytest.fixture(scope="module")
def images(tmp_path_factory, mnist):
    folder = tmp_path_factory.mktemp("images")
    paths = {}
    for i in range(3):
        paths[f"digit{i}"] = folder / f"digit{i}.png"
        Image.fromarray(mnist_digit_as_drawing(mnist.test_images[i])).save(paths[f"digit{i}"])
    paths["blank"] = folder / "blank.png"
    Image.fromarray(np.full((200, 200), 255, np.uint8)).save(paths["blank"])
    paths["text"] = folder / "notes.png"
    paths["text"].write_text("this is not an image")
    paths["missing"] = folder / "missing.png"
    return paths


def test_predict_json_contract(images, mnist):
    out = main("predict", images["digit0"], images["text"], images["blank"], images["missing"], images["digit1"], "--json")
    assert out.returncode == 1  # some files failed; the others still ran
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    assert [r["path"] for r in lines] == [str(images[k]) for k in ("digit0", "text", "blank", "missing", "digit1")]
    good, text, blank, missing, good2 = lines
    for record, label in ((good, mnist.test_labels[0]), (good2, mnist.test_labels[1])):
        assert record["digit"] == int(label)
        assert len(record["probabilities"]) == 10 and abs(sum(record["probabilities"]) - 1) < 1e-3
        assert record["confidence"] == max(record["probabilities"])
        assert "error" not in record
    assert set(text) == {"path", "error"} and "not a readable image" in text["error"]
    assert blank["digit"] is None and "Nothing drawn" in blank["error"]
    assert "file not found" in missing["error"]


def test_predict_plain_output_and_success_status(images, mnist):
    out = main("predict", images["digit2"])
    assert out.returncode == 0
    assert out.stdout.startswith(f"{images['digit2']}: {int(mnist.test_labels[2])}")


def test_a_number_is_read_digit_by_digit_and_explain_asks_for_one_digit(tmp_path, mnist):
    picture = tmp_path / "year.png"
    Image.fromarray(np.concatenate([255 - mnist.test_images[i].numpy() for i in (1, 2, 0)], axis=1)).save(picture)
    truth = "".join(str(int(mnist.test_labels[i])) for i in (1, 2, 0))
    plain = main("predict", picture)
    assert plain.returncode == 0 and plain.stdout.startswith(f"{picture}: {truth}  ({truth[0]} ")
    record = json.loads(main("predict", picture, "--json").stdout)
    assert record["number"] == truth and [d["digit"] for d in record["digits"]] == [int(c) for c in truth]
    assert all(abs(sum(d["probabilities"]) - 1) < 1e-3 for d in record["digits"]) and "digit" not in record
    explained = main("explain", picture)
    assert explained.returncode == 1 and f"3 digits side by side ({truth})" in explained.stdout + explained.stderr
    blob = np.full((28, 28), 255, np.uint8)
    blob[4:24, 6:22] = 0  # a blot as tall as the digit beside it: no digit to read
    Image.fromarray(np.hstack([255 - mnist.test_images[0].numpy(), blob])).save(picture)
    blotted = main("predict", picture)  # the number is read as far as it goes, and the blot counts as a failure
    assert blotted.returncode == 1 and blotted.stdout.startswith(f"{picture}: {int(mnist.test_labels[0])}?  (")
    assert "? (Only a dot" in blotted.stdout


def test_a_model_of_other_classes_answers_with_their_names(images, tmp_path):
    from engine.checkpoint import save_checkpoint
    from engine.datasets import REGISTRY
    from engine.predict import Predictor

    names = REGISTRY["fashion-mnist"].class_names
    shipped = Predictor.load()
    save_checkpoint(tmp_path / "fashion.pt", shipped.model, shipped.metadata | {"class_names": list(names)})
    record = json.loads(main("predict", images["digit2"], "--json", "--model", tmp_path / "fashion.pt").stdout)
    digit = json.loads(main("predict", images["digit2"], "--json").stdout)
    assert record["digit"] == digit["digit"] and record["class"] == names[record["digit"]] and digit["class"] == str(digit["digit"])
    plain = main("predict", images["digit2"], "--model", tmp_path / "fashion.pt")
    assert plain.stdout.startswith(f"{images['digit2']}: {names[record['digit']]}  (")
    explained = main("explain", images["digit2"], "--model", tmp_path / "fashion.pt")
    assert explained.stdout.startswith(f"{images['digit2']}: {names[record['digit']]}  (")


def test_output_into_a_pipe_closed_early_ends_quietly(images):
    reader = subprocess.Popen([sys.executable, str(ROOT / "main.py"), "predict", "--json", images["digit0"], images["digit1"]],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)
    reader.stdout.close()  # as `predict … | head -0` does, before anything is written
    _, err = reader.communicate(timeout=300)
    assert reader.returncode == 1 and b"Broken pipe" not in err and b"Traceback" not in err and err == b""


def test_a_file_that_cannot_be_read_is_named_once(images, tmp_path):
    missing = tmp_path / "missing.png"
    for command in ("predict", "explain"):
        out = main(command, missing, images["blank"])
        assert out.returncode == 1
        assert out.stdout.splitlines() == [f"{missing}: file not found", f"{images['blank']}: Nothing drawn: the image has no ink."]


def test_a_picture_piped_in_is_read_as_its_file_is(images):
    file_ = json.loads(main("predict", "--json", images["digit1"]).stdout)
    for command in ("predict", "explain"):
        with open(images["digit1"], "rb") as picture:
            piped = main_process(command, "--json", "-", stdin=picture)
        assert piped.returncode == 0, piped.stderr
        record = json.loads(piped.stdout)
        assert record["path"] == "-"
        assert (record["digit"], record["confidence"]) == (file_["digit"], file_["confidence"])
    with open(images["text"], "rb") as text:
        not_a_picture = main_process("predict", "-", stdin=text)
    nothing = main_process("predict", "-", stdin=subprocess.DEVNULL)
    assert not_a_picture.returncode == 1 and not_a_picture.stdout.startswith("standard input: not a readable image")
    assert nothing.returncode == 1 and nothing.stdout.startswith("standard input: nothing was piped in")


def test_predict_with_a_corrupt_model_fails_clearly(images, tmp_path):
    (tmp_path / "bad.pt").write_bytes(b"garbage")
    out = main("predict", images["digit0"], "--model", tmp_path / "bad.pt")
    assert out.returncode == 1 and "bad.pt: corrupt or not a checkpoint" in out.stderr


def test_evaluate_json_and_csv(tiny_mnist_dir, tmp_path):
    out = main("evaluate", "--json", "--data-dir", tiny_mnist_dir, "--csv", tmp_path / "eval.csv")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["samples"] == 512 and report["accuracy"] > 0.95
    assert np.array(report["confusion"]).sum() == 512 and set(report["per_class_accuracy"]) == {str(d) for d in range(10)}
    assert "per_writer_accuracy" not in report
    mistakes = round(512 * (1 - report["accuracy"]))
    assert report["not_sure"]["mistakes"] == mistakes and 0 <= report["not_sure"]["mistakes_flagged"] <= mistakes
    assert 0 <= report["not_sure"]["right_questioned"] < 0.1 and 0 <= report["calibration_error"] < 0.05
    rows = list(csv.reader((tmp_path / "eval.csv").open()))
    assert rows[0] == ["true \\ predicted", *map(str, range(10)), "samples", "accuracy"] and len(rows) == 12
    assert [[int(v) for v in row[1:11]] for row in rows[1:11]] == report["confusion"]
    assert float(rows[3][12]) == pytest.approx(report["per_class_accuracy"]["2"])
    assert rows[11][0] == "all" and int(rows[11][11]) == 512 and float(rows[11][12]) == pytest.approx(report["accuracy"])
    (tmp_path / "file").write_text("")
    out = main("evaluate", "--data-dir", tiny_mnist_dir, "--csv", tmp_path / "file" / "eval.csv")
    errors = [line for line in out.stderr.splitlines() if not line.startswith("reading the test images")]  # progress
    assert out.returncode == 1 and len(errors) == 1 and "eval.csv" in errors[0]


def test_evaluate_lays_out_the_map_of_the_digits(tiny_mnist_dir, tmp_path):
    out = main("evaluate", "--json", "--data-dir", tiny_mnist_dir, "--map", tmp_path / "map.csv")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    rows = list(csv.reader((tmp_path / "map.csv").open()))
    assert rows[0] == ["test image", "x", "y", "true", "predicted", "confidence"] and len(rows) == 1 + 512
    assert sorted(int(row[0]) for row in rows[1:]) == list(range(512))
    right = sum(row[3] == row[4] for row in rows[1:])
    assert right / 512 == pytest.approx(report["accuracy"])
    assert np.ptp([float(row[1]) for row in rows[1:]]) > 1  # laid out, not all in one place
    assert "placing the digits on the map" in out.stderr


def test_evaluate_switches_each_map_of_a_layer_off_as_the_layers_tab_does(tiny_mnist_dir, mnist):
    from engine.ablation import knocked_out
    from engine.predict import Predictor

    out = main("evaluate", "--json", "--data-dir", tiny_mnist_dir, "--switch-off", "conv1")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    without = report["switched_off"]
    assert without["layer"] == "conv1" and without["accuracy"] == pytest.approx(report["accuracy"])
    assert sorted(m["map"] for m in without["maps"]) == list(range(1, 17))
    accuracies = [m["accuracy"] for m in without["maps"]]
    assert accuracies == sorted(accuracies) and accuracies[0] < report["accuracy"]  # the costliest first, and it costs
    costliest = without["maps"][0]
    images, labels = mnist.test_images[:512].float().unsqueeze(1) / 255, mnist.test_labels[:512]
    with torch.no_grad():
        read = knocked_out(Predictor.load().model, "conv1", costliest["map"] - 1)(images).argmax(1)
    assert costliest["accuracy"] == pytest.approx(float((read == labels).float().mean()))
    lost = labels == int(costliest["class_that_loses_most"])
    assert costliest["its_loss"] > 0 and float((read[lost] == labels[lost]).float().mean()) < 1
    table = main("evaluate", "--data-dir", tiny_mnist_dir, "--switch-off", "conv2")
    assert table.returncode == 0 and "each of conv2's 32 maps switched off" in table.stdout
    wrong = main("evaluate", "--data-dir", tiny_mnist_dir, "--switch-off", "fc1")  # refused before anything is read
    assert wrong.returncode == 2 and wrong.stderr.strip() == (
        "error: digitnet has no conv layer 'fc1'; its maps are in conv1, conv2, conv3, conv4, conv5")


def test_evaluate_tables(tiny_mnist_dir):
    out = main("evaluate", "--data-dir", tiny_mnist_dir)
    assert out.returncode == 0 and "per-class accuracy" in out.stdout and "confusion matrix" in out.stdout
    assert "per-writer accuracy" not in out.stdout  # MNIST does not know its writers


def test_train_then_predict_with_the_new_model(tiny_mnist_dir, tmp_path, images):
    out = main("train", "--data-dir", tiny_mnist_dir, "--epochs", "1", "--batch-size", "32", "--out", tmp_path / "run",
               "--save", tmp_path / "copy.pt")
    assert out.returncode == 0, out.stderr
    assert "test accuracy:" in out.stdout and f"model saved to: {tmp_path / 'run' / 'model.pt'}" in out.stdout
    assert "epoch 1/1" in out.stderr and "img/s" in out.stderr
    assert (tmp_path / "copy.pt").read_bytes() == (tmp_path / "run" / "model.pt").read_bytes()
    predicted = main("predict", images["digit0"], "--model", tmp_path / "copy.pt", "--json")
    assert predicted.returncode == 0 and json.loads(predicted.stdout)["digit"] in range(10)


def test_train_a_network_written_as_text_then_predict_with_it(tiny_mnist_dir, tmp_path, images):
    layers = "conv 6 5x5 stride 2 pad 2 bn, avgpool 2, dense 24, dropout 0.2"
    out = main("train", "--data-dir", tiny_mnist_dir, "--epochs", "1", "--batch-size", "32", "--dataset", "mnist",
               "--model", "custom", "--layers", layers, "--activation", "tanh", "--out", tmp_path / "run")
    assert out.returncode == 0, out.stderr
    assert "Model: custom" in out.stderr
    assert re.search(r"features\.conv1\.conv \(Conv2d\) +\(6, 14, 14\)", out.stderr)  # the stride halves the maps
    assert re.search(r"features\.conv1\.act \(Tanh\)", out.stderr)  # every layer's activation switched
    from engine.checkpoint import load_checkpoint
    from engine.network_text import parse
    switched = parse(layers.replace(" bn", " bn tanh").replace("dense 24", "dense 24 tanh"))
    assert load_checkpoint(tmp_path / "run" / "model.pt").model.layers() == switched
    predicted = main("predict", images["digit0"], "--model", tmp_path / "run" / "model.pt", "--json")
    assert predicted.returncode == 0 and json.loads(predicted.stdout)["digit"] in range(10)
    refused = main("train", "--model", "custom", "--layers", "conv 8 3x3, maxpool 40")
    assert refused.returncode != 0 and "layers: layer 2 (maxpool 40): the window's side should be 1 to 28" in refused.stderr


def test_train_rejects_bad_values_with_usage():
    out = main("train", "--optimizer", "rmsprop")
    assert out.returncode == 2 and "invalid choice: 'rmsprop'" in out.stderr


def test_cv_reports_each_fold_and_the_mean(tiny_mnist_dir, monkeypatch):
    import engine.train

    scans_from = []
    drawn = engine.train.load_small_scans
    monkeypatch.setattr(engine.train, "load_small_scans", lambda data_dir, **kw: scans_from.append(data_dir) or drawn(data_dir, **kw))
    out = main("cv", "--folds", "2", "--data-dir", tiny_mnist_dir, "--epochs", "1", "--model", "seed000", "--no-ema")
    assert out.returncode == 0, out.stderr
    assert scans_from == [str(tiny_mnist_dir)] * 2  # each fold's last stage scans the given folder's writers
    assert "fold 1/2: validation accuracy" in out.stdout and "fold 2/2" in out.stdout
    assert "2-fold accuracy:" in out.stdout and "±" in out.stdout


def test_info_names_versions_devices_and_default_model():
    out = main("info")
    assert out.returncode == 0
    assert "PyTorch" in out.stdout and "cpu:" in out.stdout and "default model:" in out.stdout


def test_every_command_has_help():
    for command in ("train", "evaluate", "predict", "cv", "info"):
        assert main(command, "--help").returncode == 0


def test_explain_json_contract_and_overlays(images, mnist, tmp_path):
    from engine.explain import occlusion, one_hot
    from engine.predict import Predictor

    out = main("explain", images["digit0"], images["blank"], "--out", tmp_path / "why", "--json")
    assert out.returncode == 1  # the blank image failed; the digit was still explained
    good, blank = [json.loads(line) for line in out.stdout.splitlines()]
    assert good["digit"] == int(mnist.test_labels[0]) and 0 < good["confidence"] <= 1
    pixels, saliency = np.array(good["pixels"]), np.array(good["saliency"])
    assert pixels.shape == saliency.shape == (28, 28)
    assert saliency.sum() > 0 and np.abs(saliency[pixels == 0]).max() < 1e-3  # (pixels rounded to 4 places)
    assert Image.open(good["overlay"]).size == (280, 280)
    assert blank["digit"] is None and "Nothing drawn" in blank["error"]
    assert sorted(p.name for p in (tmp_path / "why").iterdir()) == ["digit0-why.png"]
    covered = main("explain", images["digit0"], "--method", "occlusion", "--json")  # the Draw tab's other way
    assert covered.returncode == 0
    record = json.loads(covered.stdout)
    expected = occlusion(Predictor.load().model, np.array(record["pixels"], np.float32), one_hot(record["digit"], 10))[0]
    np.testing.assert_allclose(record["saliency"], expected, atol=1e-3)  # (pixels rounded to 4 places)
    assert not np.allclose(record["saliency"], saliency, atol=1e-2)


def test_explain_reads_a_test_image_by_its_number_as_evaluation_does(mnist):
    from engine.evaluate import evaluate
    from engine.predict import Predictor

    predictor = Predictor.load()
    result = evaluate(predictor.model, mnist.test_images, mnist.test_labels, temperature=predictor.temperature)
    index = int(result.misclassified()[0])  # a mistake: re-preparing the picture could read it otherwise
    out = main("explain", f"mnist#{index}", "mnist#10000", "--json")
    assert out.returncode == 1  # past the end of the test set
    found, missing = [json.loads(line) for line in out.stdout.splitlines()]
    assert found["digit"] == result.predictions[index] and found["label"] == mnist.test_labels[index]
    assert abs(found["confidence"] - result.probabilities[index].max()) < 1e-5
    assert np.allclose(found["pixels"], mnist.test_images[index].numpy() / 255, atol=1e-4)
    assert "has 10,000 images" in missing["error"]


def test_explain_names_the_test_images_most_like_each_one(mnist, images):
    from engine.digit_map import hidden_features
    from engine.predict import Predictor

    predictor = Predictor.load()
    _, features = hidden_features(predictor.model, mnist.test_images)
    out = main("explain", "mnist#7", images["digit0"], "--alike", "mnist", "--json")
    assert out.returncode == 0, out.stderr
    itself, drawn = [json.loads(line) for line in out.stdout.splitlines()]
    distances = (features - features[7]).norm(dim=1)
    expected = [int(i) for i in distances.argsort()[:11] if i != 7][:10]  # the nearest, itself left out
    assert [a["image"] for a in itself["alike"]] == [f"mnist#{i}" for i in expected]
    assert [a["label"] for a in itself["alike"]] == [str(int(mnist.test_labels[i])) for i in expected]
    assert len(drawn["alike"]) == 10 and sum(a["label"] == str(drawn["digit"]) for a in drawn["alike"]) >= 8
    text = main("explain", images["digit0"], "--alike", "mnist")
    assert text.returncode == 0 and "most like it: mnist#" in text.stdout


def test_explain_says_where_the_answer_changes_as_the_image_is_turned_or_moved(images):
    from engine.invariance import CHANGES, sweep
    from engine.predict import Predictor
    from engine.preprocess import read_image

    out = main("explain", images["digit0"], "--changed", "turn", "--changed", "move_x", "--json")
    assert out.returncode == 0, out.stderr
    record = json.loads(out.stdout)
    assert list(record["changed"]) == ["turn", "move_x"]
    predictor = Predictor.load()
    made = sweep(predictor, predictor.predict(read_image(images["digit0"])).pixels, "turn")  # the app's view reads the same
    turned = record["changed"]["turn"]
    assert turned["values"] == made.values.tolist() and turned["answers"] == made.answers.tolist()
    assert turned["kept"] == list(made.kept_span()) and turned["summary"] == made.describe(predictor.class_names)
    text = main("explain", images["digit0"], "--changed", "all")
    lines = text.stdout.splitlines()
    assert text.returncode == 0 and [line.split(":")[0].strip() for line in lines[1:]] == [c.name.lower() for c in CHANGES.values()]
    assert lines[1] == f"  turned: {turned['summary']}" and main("explain", images["digit0"], "--changed", "spin").returncode == 2


def test_compare_and_runs_json_contracts(tiny_mnist_dir):
    out = main("compare", "--vary", "optimizer=sgd,adam", "--model", "seed003", "--dataset", "mnist", "--epochs", "1",
               "--train-subset", "300", "--batch-size", "32", "--no-augment", "--json", "--data-dir", tiny_mnist_dir)
    assert out.returncode == 0, out.stderr
    runs = [json.loads(line) for line in out.stdout.splitlines()]
    assert [r["run"] for r in runs] == ["optimizer=sgd", "optimizer=adam"]
    for record in runs:
        assert {"run", "config", "history", "val_accuracy", "test_accuracy", "pen_accuracy", "seconds"} <= set(record)
        assert 0 < record["pen_accuracy"] <= 1  # a digit model: read on the held-out pen writers too
        assert record["config"]["train_subset"] == 300 and record["history"]
        assert set(record["history"][0]) == {"step", "epoch", "loss", "val_accuracy"}
    listed = [json.loads(line) for line in main("runs", "--json").stdout.splitlines()]
    assert sorted(r["folder"] for r in listed) == sorted(r["folder"] for r in runs)
    assert all(r["readable"] and r["status"] == "finished" for r in listed)
    assert main("compare", "--vary", "lr=0.1", "--preset", "optimizers").returncode == 1  # one or the other


def test_personalise_fine_tunes_on_the_samples_and_saves_a_model(tiny_mnist_dir, tmp_path, monkeypatch, mnist, isolated_home):
    from engine.personal import PersonalSamples
    from engine.predict import Predictor

    monkeypatch.setenv("DIGIT_STUDIO_DATA", str(tiny_mnist_dir))
    store = PersonalSamples(tmp_path / "samples")
    for i in torch.nonzero(mnist.test_labels == 1).flatten()[:6].tolist():  # a digit's fifth sample is held out
        store.add(mnist_digit_as_drawing(mnist.test_images[i]), 1)
    out = tmp_path / "mine.pt"
    result = main("personalise", "--samples", store.folder, "--out", out, "--steps", 5, "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["model"] == str(out) and report["samples"] == 5 and report["held_out"] == 1
    metadata = Predictor.load(out).metadata
    assert metadata["personalised"]["samples"] == 5 and metadata["dataset"] == Predictor.load().metadata["dataset"]
    assert main("predict", "--model", out, "--json", store.samples()[0].path).returncode == 0

    store.samples()[0].path.write_bytes(b"damaged")  # left out and named; the others still teach it
    plain = main("personalise", "--samples", store.folder, "--steps", 5)  # saved where the app lists models
    saved = list((isolated_home / "models").glob("personalised-*.pt"))
    assert plain.returncode == 0 and len(saved) == 1 and str(saved[0]) in plain.stdout
    assert "personalised on 4 samples" in plain.stdout and "held-out personal samples" in plain.stdout
    assert "note: 1 file left out:" in plain.stderr and f"({store.samples()[0].id}.png) cannot be read" in plain.stderr


def test_personalise_imports_a_folder_of_pictures_first(tiny_mnist_dir, tmp_path, monkeypatch, your_pictures):
    monkeypatch.setenv("DIGIT_STUDIO_DATA", str(tiny_mnist_dir))
    out = tmp_path / "mine.pt"
    result = main("personalise", "--samples", tmp_path / "samples", "--import-digits", your_pictures,
                  "--out", out, "--steps", 3)
    assert result.returncode == 0, result.stderr
    assert "imported 41 samples" in result.stdout and "2 files left out" in result.stderr and out.is_file()


def test_personalise_without_samples_says_so_and_writes_nothing(tmp_path):
    result = main("personalise", "--samples", tmp_path / "none", "--out", tmp_path / "mine.pt")
    assert result.returncode == 1 and "no personal samples" in result.stderr
    assert not (tmp_path / "mine.pt").exists()


def test_durations_read_as_minutes_then_hours():
    from engine.events import format_duration

    assert [format_duration(s) for s in (0, 65, 3599, 3725, -3)] == ["0:00", "1:05", "59:59", "1:02:05", "0:00"]


def test_search_ends_with_the_train_command_for_its_best_trial(tiny_mnist_dir, tmp_path):
    out = main("search", "--trials", "2", "--model", "seed003", "--dataset", "mnist", "--epochs", "1", "--no-augment",
               "--sampler", "random", "--study", "hint", "--storage", f"sqlite:///{tmp_path / 's.db'}",
               "--data-dir", tiny_mnist_dir)
    assert out.returncode == 0, out.stderr
    best = out.stdout.splitlines()[-2]
    command = out.stdout.splitlines()[-1].removeprefix("train with them: ").split()
    assert command[0] == "train"
    flags = dict(zip(command[1::2], map(float, command[2::2])))
    lr, decay = (float(best.split(name)[1].split()[0].rstrip(":,")) for name in (" lr ", "weight decay "))
    assert flags == pytest.approx({"--lr": lr, "--weight-decay": decay}, rel=1e-2)


def test_lr_find_prints_the_loss_by_rate_and_suggests_a_rate(tiny_mnist_dir):
    common = ("--dataset", "mnist", "--data-dir", tiny_mnist_dir, "--batch-size", 32, "--steps", 40)
    out = main("lr-find", *common)
    assert out.returncode == 0, out.stderr
    rows = [(float(lr), float(loss)) for lr, loss in re.findall(r"lr\s+(\S+)\s+loss (\S+)", out.stdout)]
    assert rows[0][0] == pytest.approx(1e-6) and len(rows) >= 10  # a row every half decade until it ran away
    suggested = float(re.search(r"suggested peak rate: (\S+) ", out.stdout).group(1))
    assert 1e-5 < suggested < 1 and f"train --lr {suggested:.2g}" in out.stdout
    found = json.loads(main("lr-find", *common, "--json").stdout)
    assert found["suggested"] == pytest.approx(found["lowest"] / 3) and len(found["rates"]) == len(found["losses"]) <= 40
    assert f"{found['suggested']:.2g}" == f"{suggested:.2g}"  # the same test, the same seed: the same answer
    refused = main("lr-find", *common, "--start", 1, "--end", 0.1)
    assert refused.returncode == 1 and refused.stderr.startswith("error: a range test needs 0 < start < end")
