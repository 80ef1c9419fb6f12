"""A person on a fresh install creates the first account, signs out, signs in and sees the dashboard."""

from playwright.sync_api import expect

PASSPHRASE = "lux is a good workbench"


def test_first_account_sign_out_sign_in(page):
    page.goto("/")
    expect(page.get_by_role("heading", name="Create the first account")).to_be_visible()
    page.get_by_label("Username").fill("marie")
    page.get_by_label("Password", exact=True).fill(PASSPHRASE)
    page.get_by_label("Password again").fill(PASSPHRASE)
    page.get_by_role("button", name="Create the first account").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    expect(page.get_by_text("You are Lux's administrator")).to_be_visible()

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in to Lux")).to_be_visible()

    page.get_by_label("Username").fill("marie")
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("Please enter a correct username and password")).to_be_visible()

    page.get_by_label("Password").fill(PASSPHRASE)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    expect(page.get_by_role("link", name="API docs")).to_be_visible()
