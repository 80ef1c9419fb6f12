"""The worker's LRU of loaded models: a second use does not read the weights again; a new file does."""

import os

from webapp.classify.services import loader
from webapp.classify.services.refs import resolve


def test_a_second_use_does_not_reload_the_weights(run, owner):
    loader.clear()
    source = resolve(owner, f"run:{run.pk}")
    first, hit_first = loader.get_model(source)
    loads = loader.LOADS
    second, hit_second = loader.get_model(source)
    assert (hit_first, hit_second) == (False, True)
    assert second is first
    assert loader.LOADS == loads


def test_a_replaced_weights_file_is_loaded_afresh(run, owner, media):
    loader.clear()
    source = resolve(owner, f"run:{run.pk}")
    loader.get_model(source)
    loads = loader.LOADS
    path = media / source.path
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    _, hit = loader.get_model(source)
    assert not hit and loader.LOADS == loads + 1


def test_it_keeps_only_a_few_models(owner, version, settings):
    from tests.factories import saved_run

    settings.LUX_MODEL_CACHE_SIZE = 2
    loader.clear()
    sources = [resolve(owner, f"run:{saved_run(owner, version, name=f'r{i}').pk}") for i in range(3)]
    for source in sources:
        loader.get_model(source)
    _, hit = loader.get_model(sources[0])  # the least recently used one was let go
    assert not hit
    _, hit = loader.get_model(sources[2])
    assert hit
