"""The quick test page without a worker: tasks run in this process, so the page and its errors are tested fast."""

from django.core.files.uploadedfile import SimpleUploadedFile

from tests.factories import colour_image, png


def test_the_page_offers_the_run_and_draws_bars_without_javascript(owner_client, run, eager):
    page = owner_client.get("/classify/")
    assert f'value="run:{run.pk}"'.encode() in page.content
    response = owner_client.post("/classify/quick/", {
        "model": f"run:{run.pk}", "images": [SimpleUploadedFile("r.png", png(colour_image("red")))]})
    assert response.status_code == 200
    assert b"cl-bars" in response.content and b"r.png" in response.content
    assert b"data:image/png;base64," in response.content


def test_it_refuses_more_than_ten_images(owner_client, run, eager):
    images = [SimpleUploadedFile(f"{i}.png", png(colour_image("red", seed=i))) for i in range(11)]
    response = owner_client.post("/classify/quick/", {"model": f"run:{run.pk}", "images": images},
                                 HTTP_ACCEPT="application/json")
    assert response.status_code == 400
    assert "at most 10 images" in response.json()["error"]


def test_an_outsider_cannot_use_the_owners_model(outsider_client, run, eager):
    image = SimpleUploadedFile("r.png", png(colour_image("red")))
    response = outsider_client.post("/classify/quick/", {"model": f"run:{run.pk}", "images": [image]},
                                    HTTP_ACCEPT="application/json")
    assert response.status_code == 400
    assert "model" in response.json()["fields"]
    assert f"run:{run.pk}".encode() not in outsider_client.get("/classify/").content


def test_the_api_answers_404_for_a_model_it_may_not_use(api_client, outsider, run, eager):
    api_client.force_authenticate(outsider)
    response = api_client.post("/api/classify/predict/", {
        "model": f"run:{run.pk}", "image": SimpleUploadedFile("r.png", png(colour_image("red")))},
        format="multipart")
    assert response.status_code == 404


def test_it_says_when_no_worker_answers(owner_client, run, media, settings, monkeypatch):
    from webapp.classify.services import quick

    settings.LUX_QUICK_WAIT_SECONDS = 0.3
    monkeypatch.setattr(quick, "QUICK_QUEUE", "nobody-listens")  # even if a test worker runs meanwhile
    response = owner_client.post("/classify/quick/", {
        "model": f"run:{run.pk}", "images": [SimpleUploadedFile("r.png", png(colour_image("red")))]},
        HTTP_ACCEPT="application/json")
    assert response.status_code == 503
    assert "No worker serves the interactive queue" in response.json()["error"]
    assert not list((media / "classify" / "quick").iterdir())  # the staged image is not left behind
