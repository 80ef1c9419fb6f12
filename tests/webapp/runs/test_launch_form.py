"""The launch form: good defaults from a dataset alone, and every error beside the field that can fix it."""

import pytest

from tests.factories import make_dataset, make_version, tiny_network
from training.config import defaults_for
from training.recipes import recipe_for
from webapp.datasets.services.bulk import delete_images
from webapp.runs.forms import LaunchForm
from webapp.runs.models import RunStatus, TrainingRun

pytestmark = pytest.mark.django_db


def form_for(user, **data):
    form = LaunchForm(data=data, user=user)
    form.is_valid()
    return form


def only_error(form, field):
    """Return the messages beside `field`, asserting no other field (nor the form) has any."""
    assert set(form.errors) == {field}, form.errors
    return " ".join(form.errors[field])


def recipe_of(form, arch: str, **kwargs):
    """Return the recipe training.recipes gives for the form's data, as the form profiled it."""
    profile = form.profile
    return recipe_for(arch, train_images=profile.train_images, num_classes=profile.num_classes,
                      median_size=profile.median_size, has_val=profile.has_val, **kwargs)


def test_a_dataset_alone_is_enough_and_gets_the_recipe_for_its_data(owner):
    dataset = make_dataset(owner)
    form = form_for(owner, dataset=dataset.pk, arch="resnet18_small")
    assert form.is_valid(), form.errors
    config = form.resolved.config
    family = defaults_for("resnet18_small")
    assert (config.arch, config.optimizer, config.scheduler, config.image_size) == (
        "resnet18_small", family["optimizer"], family["scheduler"], 32)
    # 36 training images: a batch that fits them several times over, and steps (not epochs) from the set's size.
    assert form.profile.train_images == 36
    assert config.batch_size < 36 and config.epochs > family["epochs"]
    recipe = recipe_of(form, "resnet18_small").settings
    assert {name: getattr(config, name) for name in recipe} == recipe
    assert form.resolved.recipe.startswith("36 training images → ")


def test_vit_gets_its_own_recipe(owner):
    form = form_for(owner, dataset=make_dataset(owner).pk, arch="vit_tiny")
    assert form.is_valid(), form.errors
    family, recipe = defaults_for("vit_tiny"), recipe_of(form, "vit_tiny").settings
    config = form.resolved.config
    assert (config.optimizer, config.scheduler) == (family["optimizer"], family["scheduler"])
    assert (config.epochs, config.lr) == (recipe["epochs"], recipe["lr"])


def test_it_rejects_a_dataset_with_one_class(owner):
    dataset = make_dataset(owner, classes=("red",))
    assert "at least 2" in only_error(form_for(owner, dataset=dataset.pk, arch="custom"), "dataset")


def test_it_rejects_a_class_without_training_images(owner):
    dataset = make_dataset(owner, classes=("red", "green"))
    yellow = dataset.classes.create(name="yellow", position=5)
    dataset.images.filter(label__name="green", split="val").update(label=yellow)
    message = only_error(form_for(owner, dataset=dataset.pk, arch="custom"), "dataset")
    assert "“yellow” has no training images" in message


@pytest.mark.parametrize("split,word", [("val", "validation"), ("test", "test")])
def test_it_rejects_an_empty_held_out_split(owner, split, word):
    per_split = {"train": 4, "val": 2, "test": 2, split: 0}
    dataset = make_dataset(owner, per_split=per_split)
    assert f"The {word} split is empty" in only_error(form_for(owner, dataset=dataset.pk, arch="custom"), "dataset")


def test_the_errors_go_beside_the_version_when_a_version_was_chosen(owner):
    dataset = make_dataset(owner, per_split={"train": 4, "val": 0, "test": 2})
    version = make_version(owner, dataset)
    assert "validation split is empty" in only_error(form_for(owner, version=version.pk, arch="custom"), "version")


def test_it_rejects_a_batch_larger_than_the_training_set(owner):
    form = form_for(owner, dataset=make_dataset(owner).pk, arch="custom", batch_size=64)
    assert "only 36 images; use a batch size of at most 36" in only_error(form, "batch_size")


def test_it_rejects_a_vit_image_size_that_is_not_a_multiple_of_the_patch(owner):
    form = form_for(owner, dataset=make_dataset(owner).pk, arch="vit_b_16", image_size=40)
    assert "not a multiple of the 16 px patch; use 32 or 48 px" in only_error(form, "image_size")


def test_it_rejects_a_custom_network_that_does_not_fit_the_image_size(owner):
    network = tiny_network(owner, image_size=16)
    form = form_for(owner, dataset=make_dataset(owner).pk, arch=f"net:{network.pk}", image_size=1)
    message = only_error(form, "image_size")
    assert "“tiny” does not fit 1 px images" in message and "would shrink the 1x1 map to 0x0" in message


@pytest.mark.parametrize("field,value,words", [
    ("lr", 0, "above 0"),
    ("label_smoothing", 1, "from 0 to 1 (exclusive)"),
    ("warmup_epochs", 5, "less than the number of epochs (5)"),
    ("weight_decay", -1, "from 0 to 10"),
])
def test_engine_config_errors_go_beside_their_field(owner, field, value, words):
    form = form_for(owner, dataset=make_dataset(owner).pk, arch="custom", epochs=5, **{field: value})
    assert words in only_error(form, field)


def test_it_explains_missing_imagenet_weights_beside_pretrained(owner, tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty-torch-home"))
    form = form_for(owner, dataset=make_dataset(owner).pk, arch="resnet18", pretrained=True)
    message = only_error(form, "pretrained")
    assert "resnet18-f37072fd.pth" in message and "Pretrained weights page" in message


def test_it_offers_pretrained_weights_found_in_the_torch_cache(owner, tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    (tmp_path / "hub" / "checkpoints").mkdir(parents=True)
    (tmp_path / "hub" / "checkpoints" / "resnet18-f37072fd.pth").write_bytes(b"weights")
    form = form_for(owner, dataset=make_dataset(owner).pk, arch="resnet18", pretrained=True, image_size=32)
    assert form.is_valid(), form.errors
    recipe = recipe_of(form, "resnet18", pretrained="imagenet", given={"image_size": 32}).settings
    assert form.resolved.config.pretrained == "imagenet" and form.resolved.config.lr == recipe["lr"]
    entries = {e["value"]: e for _, group in form.architecture_groups() for e in group}
    assert entries["resnet18"]["pretrained_available"] and not entries["resnet34"]["pretrained_available"]
    assert "resnet34" in entries["resnet34"]["pretrained_reason"]


def test_someone_elses_dataset_is_not_a_choice(owner, outsider):
    dataset = make_dataset(owner)
    assert "valid choice" in only_error(form_for(outsider, dataset=dataset.pk, arch="custom"), "dataset")


def test_a_version_of_another_dataset_is_refused(owner):
    squares = make_dataset(owner)
    other = make_version(owner, make_dataset(owner, name="Other", seed=1))
    assert "not of “Squares”" in only_error(form_for(owner, dataset=squares.pk, version=other.pk, arch="custom"),
                                            "version")


def test_architectures_come_grouped_by_family_with_sizes(owner):
    network = tiny_network(owner)
    groups = dict(LaunchForm(user=owner).architecture_groups())
    assert list(groups) == ["VGG", "ResNet", "ViT", "Your own networks"]
    resnet18 = next(e for e in groups["ResNet"] if e["value"] == "resnet18_small")
    assert resnet18["params"] > 10_000_000 and resnet18["suggested_size"] == 32
    assert resnet18["defaults"]["optimizer"] == defaults_for("resnet18_small")["optimizer"]
    mine = next(e for e in groups["Your own networks"] if e["value"] == f"net:{network.pk}")
    assert mine["label"] == "tiny" and mine["params"] == 8 * 27 + 8 + 16 * 72 + 16 + 16 * 10 + 10


def test_launch_freezes_a_version_and_queues_the_run(owner, django_capture_on_commit_callbacks):
    dataset = make_dataset(owner)
    form = form_for(owner, dataset=dataset.pk, arch="custom", epochs=2, notes="first try")
    with django_capture_on_commit_callbacks() as sent:
        run = form.launch()
    run = TrainingRun.objects.get(pk=run.pk)
    assert run.status == RunStatus.QUEUED and run.version.dataset == dataset and run.version.number == 1
    assert run.config["epochs"] == 2 and run.notes == "first try" and run.output_dir == f"runs/{run.pk}"
    assert run.task_id and run.queue == "gpu" and len(sent) == 1
    # Unchanged data reuses that version; a change freezes the next one.
    assert form_for(owner, dataset=dataset.pk, arch="custom").launch().version == run.version
    delete_images(dataset, [dataset.images.filter(split="train").first().pk])
    assert form_for(owner, dataset=dataset.pk, arch="custom").launch().version.number == 2


def test_with_both_dataset_and_an_earlier_version_the_version_wins(owner, client):
    dataset = make_dataset(owner)
    earlier = make_version(owner, dataset)
    delete_images(dataset, [dataset.images.filter(split="train").first().pk])  # the latest data differs now
    run = form_for(owner, dataset=dataset.pk, version=earlier.pk, arch="custom").launch()
    assert run.version == earlier and dataset.versions.count() == 1  # trained on it; nothing new frozen
    form = LaunchForm(user=owner)
    assert "the version wins" in form.fields["dataset"].help_text
    assert "A version wins over “Dataset”" in form.fields["version"].help_text
    client.force_login(owner)
    schema = client.get("/api/schema/?format=json").json()["components"]["schemas"]
    launch = next(s["properties"] for s in schema.values()
                  if {"dataset", "version", "arch", "pretrained"} <= set(s.get("properties", {})))
    assert "the version wins" in launch["dataset"]["description"]
    assert "A version wins over “Dataset”" in launch["version"]["description"]
