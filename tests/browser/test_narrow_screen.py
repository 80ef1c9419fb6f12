"""On a phone-sized screen (390 px) every navigation entry and the account menu are fully on screen."""

from tests.browser.test_run_journey import sign_in


def test_the_top_navigation_is_whole_at_390_px(page, owner):
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, owner)
    page.goto("/datasets/")
    links = page.locator(".mainnav a, .usermenu a, .usermenu button")
    assert links.count() >= 5
    for i in range(links.count()):
        link = links.nth(i)
        box = link.bounding_box()
        label = link.inner_text()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390, f"{label!r} is cut: {box}"
        # Nothing covers it and it is not scrolled out of its bar: the point at its centre is the link itself.
        hit = page.evaluate("([x, y]) => document.elementFromPoint(x, y)?.closest('a, button')?.innerText",
                            [box["x"] + box["width"] / 2, box["y"] + box["height"] / 2])
        assert hit == label, f"{label!r} is hidden under {hit!r}"
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scrolling of the page
