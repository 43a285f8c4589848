"""The explainer in a real browser: uploads, pasting, examples, the four views, Figure 4's download, /classify."""

import pytest

from bench.pagedriver.digit_strokes import render
from bench.pagedriver.page import (
    EXPLAINER_VIEWS,
    draw,
    drawing_sends_after_lifting,
    open_demo,
    wait_for_prediction,
    wait_for_views,
)
from demo.app import EXAMPLES
from demo.compute.readers import load_examples

pytestmark = pytest.mark.browser

def view_html(page, elem_id: str) -> str:
    return page.locator(f"#{elem_id}").inner_html()


@pytest.fixture
def seven_png(tmp_path):
    path = tmp_path / "seven.png"
    render(7).save(path)
    return path


def test_uploaded_png_is_predicted_and_explained(page, seven_png):
    page.locator("#upload input[type=file]").set_input_files(str(seven_png))
    assert wait_for_prediction(page, "7") == "7"
    wait_for_views(page)
    assert "capsule 7" in view_html(page, "routing")


def test_a_second_upload_replaces_the_first(page, seven_png, tmp_path):
    two_png = tmp_path / "two.png"
    render(2).save(two_png)
    for path, digit in ((seven_png, "7"), (two_png, "2")):
        page.locator("#upload input[type=file]").set_input_files(str(path))  # no need to clear the box first
        assert wait_for_prediction(page, digit) == digit
    page.wait_for_function("() => document.querySelector('#figure4 .corner')?.innerText === 'capsule 2'")


PASTE = ("(bytes) => { const files = new DataTransfer();"
         " files.items.add(new File([new Uint8Array(bytes)], 'pasted.png', {type: 'image/png'}));"
         " document.dispatchEvent(new ClipboardEvent('paste', {clipboardData: files})); }")


def test_pasted_image_is_predicted(page, seven_png):
    # paste.js is installed once Gradio has set up the page, which may come just after the sliders appear
    for _ in range(5):
        page.evaluate(PASTE, list(seven_png.read_bytes()))
        page.wait_for_timeout(2000)
        if page.locator("#prediction .predicted-digit").inner_text() != "?":
            break
    assert wait_for_prediction(page, "7") == "7"


def test_uploading_a_file_that_is_no_image_shows_a_message(page, tmp_path):
    path = tmp_path / "notes.png"
    path.write_bytes(b"these are notes, not a picture")
    page.locator("#upload input[type=file]").set_input_files(str(path))
    page.wait_for_function("() => document.querySelector('#prediction').innerText.includes('not a readable image')")
    assert page.locator(".toast-body").count() == 0
    assert page.js_errors == []


def test_clicking_an_example_loads_it(page):
    examples = load_examples(EXAMPLES / "index.json")
    wrong = next(n for n, e in enumerate(examples) if e.predicted != e.labels[0])
    for index in (0, wrong):
        page.locator("#examples .thumbnail-item").nth(index).click()
        assert wait_for_prediction(page, str(examples[index].predicted)) == str(examples[index].predicted)
    assert f"true {examples[wrong].labels[0]}" in page.locator("#examples").inner_text()


def test_views_change_between_two_drawn_digits(page):
    draw(page, 1)
    wait_for_prediction(page, "1")
    ones = wait_for_views(page)
    page.locator("#clear").click()
    draw(page, 0)
    wait_for_prediction(page, "0")
    zeros = wait_for_views(page, ones)
    assert all(zeros[v] != ones[v] for v in EXPLAINER_VIEWS)


def test_without_the_network_in_the_page_only_drawings_are_sent_while_the_pen_is_down(server_page):
    page = server_page
    sent = []  # the data of every event the page sends: a drawing is [data URL, pen down?]
    page.on("request", lambda request: sent.append(request.post_data_json["data"])
            if request.method == "POST" and "/run/" in request.url else None)
    draw(page, 1, finish=False)
    wait_for_prediction(page, "1")
    page.wait_for_timeout(1000)  # several predictions' time
    assert sent and all(data[0].startswith("data:image/png") and data[1] is True for data in sent)
    assert all(page.locator(f"#{view} img").count() == 0 for view in EXPLAINER_VIEWS)
    lifted = len(sent)
    page.mouse.up()
    wait_for_views(page)
    assert sent[lifted][1] is False  # the drawing as the pen was lifted; the views' request comes after it


def test_without_the_network_in_the_page_the_drawing_is_sent_once_after_the_pen_is_lifted(server_page):
    assert drawing_sends_after_lifting(server_page) == 1  # the prediction's; the views come from the tab's state


def test_routing_reruns_with_five_iterations(page):
    draw(page, 1)
    wait_for_prediction(page, "1")
    wait_for_views(page)
    page.locator("#iterations label", has_text="5").click()
    page.wait_for_function("() => document.querySelectorAll('#routing .iteration').length === 5")


def test_choosing_another_capsule_explains_that_capsule(page):
    draw(page, 1)
    wait_for_prediction(page, "1")
    wait_for_views(page)
    page.locator("#digit label", has_text="7").click()
    page.wait_for_function("() => document.querySelector('#figure4 .corner').innerText === 'capsule 7'")
    # the page draws #routing from the same answer, once its numbers are unpacked
    page.wait_for_function("() => document.querySelector('#routing .caption')?.innerText.includes('capsule 7')")


def test_figure4_downloads_as_png(page, tmp_path):
    draw(page, 1)
    wait_for_prediction(page, "1")
    wait_for_views(page)
    page.locator("#figure4-png").click()
    with page.expect_download() as download:
        page.locator("#figure4-file").click()
    path = tmp_path / "figure4.png"
    download.value.save_as(path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_phone_width_cuts_nothing_off(browser, demo_url):
    phone = open_demo(browser, demo_url, touch=True)
    try:
        phone.set_viewport_size({"width": 390, "height": 844})
        draw(phone, 1)
        wait_for_prediction(phone, "1")
        wait_for_views(phone)
        assert phone.evaluate("() => document.documentElement.scrollWidth") <= 390
    finally:
        phone.close()


def test_classify_endpoint_answers_gradio_client(demo_url, seven_png):
    from gradio_client import Client, handle_file

    client = Client(demo_url, verbose=False)
    result = client.predict(handle_file(str(seven_png)), api_name="/classify")
    assert result["digit"] == 7 and len(result["lengths"]) == 10
    assert list(client.view_api(print_info=False, return_format="dict")["named_endpoints"]) == ["/classify"]
