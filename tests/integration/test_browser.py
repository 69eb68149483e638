"""The web page in real headless Chromium (Debian's chromium and chromium-driver):
two people on one video; one posts, the other sees it; an admin deletes it and it
disappears from the other's screen."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as seen
from selenium.webdriver.support.ui import WebDriverWait

from tests.integration.conftest import ADMIN, new_post_id

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
WAIT_S = 20


@pytest.fixture
def browsers() -> Iterator[list[webdriver.Chrome]]:
    opened: list[webdriver.Chrome] = []
    profiles: list[tempfile.TemporaryDirectory] = []
    try:
        for _ in range(2):
            profile = tempfile.TemporaryDirectory()
            profiles.append(profile)
            options = webdriver.ChromeOptions()
            options.binary_location = CHROMIUM
            for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                         "--no-first-run", "--disable-background-networking",
                         "--disable-component-update", "--disable-sync",
                         "--disable-dev-shm-usage", f"--user-data-dir={profile.name}"):
                options.add_argument(flag)
            opened.append(webdriver.Chrome(options=options, service=Service(CHROMEDRIVER)))
        yield opened
    finally:
        for browser in opened:
            browser.quit()
        for profile in profiles:
            profile.cleanup()


def _wait(browser: webdriver.Chrome) -> WebDriverWait:
    return WebDriverWait(browser, WAIT_S)


def _log_in(browser: webdriver.Chrome, username: str, password: str) -> None:
    browser.find_element(By.ID, "username").send_keys(username)
    browser.find_element(By.ID, "password").send_keys(password)
    browser.find_element(By.ID, "login").click()
    _wait(browser).until(seen.text_to_be_present_in_element((By.ID, "whoami"), username))


def _comment(text: str) -> tuple[str, str]:
    return By.XPATH, f"//ol[@id='comments']/li[div[@class='text' and text()='{text}']]"


def test_two_people_one_posts_the_other_sees_an_admin_deletes(running, browsers, user):
    viewer, admin = browsers
    video = new_post_id()
    for browser in browsers:
        browser.get(f"{running.url}/#video={video}")
        _wait(browser).until(seen.text_to_be_present_in_element((By.ID, "status"), "live"))
    _wait(viewer).until(seen.text_to_be_present_in_element((By.ID, "viewers"), "2 watching"))

    _log_in(viewer, user.username, "password-1")
    viewer.find_element(By.ID, "comment-text").send_keys("hello from a browser")
    viewer.find_element(By.ID, "post").click()
    _wait(viewer).until(seen.text_to_be_present_in_element((By.ID, "message"), "Posted."))
    seen_by_admin = _wait(admin).until(seen.presence_of_element_located(
        _comment("hello from a browser")))
    assert seen_by_admin.find_element(By.CLASS_NAME, "who").text == user.username

    _log_in(admin, *ADMIN)
    item = _wait(admin).until(seen.presence_of_element_located(_comment("hello from a browser")))
    item.find_element(By.CLASS_NAME, "delete").click()
    _wait(viewer).until(seen.invisibility_of_element_located(_comment("hello from a browser")))
    assert viewer.find_elements(*_comment("hello from a browser")) == []


async def test_the_page_says_why_a_post_was_refused(running, browsers, user, admin, client):
    browser = browsers[0]
    browser.get(f"{running.url}/#video={new_post_id()}")
    _wait(browser).until(seen.text_to_be_present_in_element((By.ID, "status"), "live"))
    _log_in(browser, user.username, "password-1")
    text = browser.find_element(By.ID, "comment-text")
    text.send_keys("   ")
    browser.find_element(By.ID, "post").click()
    _wait(browser).until(seen.text_to_be_present_in_element((By.ID, "message"), "Not accepted"))
    banned = await client.post(f"/api/admin/users/{user.user_id}/ban",
                               json={"reason": "testing the page"}, headers=admin.auth)
    assert banned.status_code == 200
    text.send_keys("let me in")
    browser.find_element(By.ID, "post").click()
    _wait(browser).until(seen.text_to_be_present_in_element(
        (By.ID, "message"), "Not allowed: you are banned: testing the page"))
