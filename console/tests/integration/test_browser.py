"""The console as a person sees it: headless Chromium renders pages against the real cost-sharing service.

Needs Debian's `chromium` on PATH (`apt-get install -y chromium`), and is skipped without it.
`--dump-dom` gives the DOM after the page's scripts ran, so the assertions read what was rendered
(figures, badges, buttons), not what was served. Screenshots go to the test's temporary folder;
set CONSOLE_SCREENSHOT_DIR (e.g. console/tests/screenshots) to keep them.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
from pathlib import Path

import pytest

from alliance_console.app import create_app
from alliance_console.settings import Settings

PERIOD = "2026-10"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture
def chromium():
    if CHROMIUM is None:
        pytest.skip("headless browser test needs Debian's `chromium` on PATH "
                    "(apt-get install -y chromium); not installed here")
    return CHROMIUM


@pytest.fixture
async def console_url(chromium, seeded_cost_sharing, dev_keys, serve, unreachable_url):
    base = f"http://127.0.0.1:{seeded_cost_sharing.http_port}"
    settings = Settings(dev_keys_dir=dev_keys.directory, services={
        "cost-sharing": base, "referral": unreachable_url, "procurement": unreachable_url,
        "data-exchange": unreachable_url, "results-mutual-recognition": unreachable_url})
    async with serve(create_app(settings)) as url:
        yield url


async def _chromium(tmp_path: Path, url: str, *args: str) -> str:
    """Run headless Chromium on `url` (the console keeps serving meanwhile); return its stdout."""
    profile = tmp_path / "profile"
    proc = await asyncio.create_subprocess_exec(
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
        "--disable-extensions", "--disable-dev-shm-usage", f"--user-data-dir={profile}",
        "--window-size=1280,900", "--virtual-time-budget=8000", *args, url,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    assert proc.returncode == 0, err.decode(errors="replace")[-2000:]
    return out.decode()


async def dom(tmp_path: Path, url: str) -> str:
    return await _chromium(tmp_path, url, "--dump-dom")


def _keep(path: Path) -> int:
    """The screenshot's size; copied to CONSOLE_SCREENSHOT_DIR when that is set."""
    if keep := os.environ.get("CONSOLE_SCREENSHOT_DIR"):
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(keep) / path.name)
    return path.stat().st_size


async def screenshot(tmp_path: Path, url: str, name: str) -> Path:
    path = tmp_path / f"{name}.png"
    await _chromium(tmp_path, url, f"--screenshot={path}")
    assert await asyncio.to_thread(_keep, path) > 10_000      # a rendered page, not a blank one
    return path


def text(html: str) -> str:
    """The visible text of a dumped DOM, whitespace collapsed."""
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace("&amp;", "&")


async def test_settlement_page_shows_the_verified_ledger_netting_and_statements(console_url, tmp_path):
    url = f"{console_url}/#/settlement?period={PERIOD}"
    html = await dom(tmp_path, url)
    seen = text(html)
    assert 'data-ledger="verified"' in html and "Ledger verified" in seen
    assert "Netting · 2026-10" in seen and "Settles every balance" in seen
    for h in ("ST-H001-2026-10", "ST-H002-2026-10", "ST-H003-2026-10"):
        assert h in seen
    assert "Publish netting 2026-10" in seen            # the administrator's write button
    assert "Loading…" not in seen and 'class="error"' not in html
    await screenshot(tmp_path, url, "settlement")


async def test_indicators_page_draws_lights_and_the_band(console_url, tmp_path):
    url = f"{console_url}/#/indicators?period={PERIOD}"
    html = await dom(tmp_path, url)
    seen = text(html)
    assert "H001" in seen and "H004" in seen
    assert "红 red" in seen and "黄 yellow" in seen and "越界 out" in seen and "区间内 in band" in seen
    assert "0.8–1.2" in seen                               # the band is drawn on the cost-index chart
    assert html.count('class="chart"') >= 4 and "Loading…" not in seen
    await screenshot(tmp_path, url, "indicators")

    drill = text(await dom(tmp_path, f"{console_url}/#/indicators?period={PERIOD}&hospital=H001"))
    assert "医院 H001" in drill and "2026-09" in drill and "2026-05" in drill
    assert "新开心内科介入" in drill                        # H001's answered warning, with its cause


async def test_the_regulator_sees_the_read_only_subset(console_url, tmp_path):
    admin = await dom(tmp_path / "admin", f"{console_url}/#/warnings?period={PERIOD}&as=alliance_admin")
    assert admin.count('data-write="true"') == 2                 # evaluate, and close the answered one
    assert "关闭 Close</button>" in admin and "Evaluate 2026-10</button>" in admin

    url = f"{console_url}/#/warnings?period={PERIOD}&as=regulator"
    html = await dom(tmp_path / "regulator", url)
    seen = text(html)
    assert "console-regulator" in seen                      # signed in with the regulator dev token
    assert "已答复 answered" in seen and "H001" in seen      # it reads everything...
    assert 'data-write="true"' not in html and "<button" not in html     # ...and writes nothing
    assert "Read-only view" in seen
    settlement = await dom(tmp_path / "regulator", f"{console_url}/#/settlement?period={PERIOD}&as=regulator")
    assert "Ledger verified" in text(settlement) and 'data-write="true"' not in settlement
    await screenshot(tmp_path / "regulator", url, "warnings-regulator")


async def test_a_service_that_is_down_is_an_inline_error_not_a_blank_page(console_url, tmp_path):
    overview = text(await dom(tmp_path, f"{console_url}/#/overview?period={PERIOD}"))
    assert "已校验 verified" in overview                     # cost-sharing figures render...
    assert "502 Bad Gateway" in overview                    # ...next to the services that are down
    procurement = await dom(tmp_path, f"{console_url}/#/procurement?period={PERIOD}")
    seen = text(procurement)
    assert 'class="error"' in procurement and "procurement is not reachable" in seen
