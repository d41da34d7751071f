// Opens the dashboard of a running `sse serve --demo` (or of the firmware)
// in Debian's headless Chromium, waits until events arrived and the chart
// drew, saves a screenshot, and prints what the page shows as one JSON
// line. With `publish` (a server with `POST /publish`), it first publishes
// an event with a long id and long data and reports, at several widths,
// the boxes of the log's cells, so that the test can check that none runs
// over another.
//
// usage: node dashboard.mjs URL SCREENSHOT.png [publish]
import { launch } from "./launch.mjs";

const [url, screenshot, mode] = process.argv.slice(2);
const browser = await launch();

// In the page: for each of the first log rows, its visible cells' boxes,
// and whether each cell's text fits it or is clipped by it.
function layout() {
  const rows = [...document.querySelectorAll("#log li")].slice(0, 8);
  return rows.map((li) => [...li.children]
    .filter((span) => getComputedStyle(span).display !== "none")
    .map((span) => {
      const r = span.getBoundingClientRect();
      const style = getComputedStyle(span);
      return {
        cls: span.className,
        left: r.left, right: r.right, top: r.top, bottom: r.bottom,
        fits: span.scrollWidth <= span.clientWidth + 1,
        clips: style.overflowX === "hidden",
      };
    }));
}

try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
  await page.goto(url);
  await page.waitForFunction(
    () => document.body.dataset.state === "open" && Number(document.body.dataset.points) >= 10,
    null,
    { timeout: 20000 },
  );
  const firstPoints = Number(await page.evaluate(() => document.body.dataset.points));
  // The chart keeps moving: more points a second later.
  await page.waitForFunction((n) => Number(document.body.dataset.points) > n, firstPoints, { timeout: 5000 });
  if (mode !== "publish") {
    await page.screenshot({ path: screenshot });
    console.log(JSON.stringify(await page.evaluate(() => ({
      state: document.body.dataset.state,
      events: Number(document.body.dataset.events),
      points: Number(document.body.dataset.points),
      legend: [...document.querySelectorAll("#legend span")].map((s) => s.textContent.split(" ")[0]),
      firstLogType: document.querySelector("#log li .type")?.textContent,
    }))));
  } else {
    const longId = "1a244451ce4da2e-39-and-a-publisher-chosen-suffix-0123456789";
    const status = await page.evaluate(async (id) => (await fetch("/publish", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ id, data: "x".repeat(300) }),
    })).status, longId);
    await page.waitForFunction((id) => [...document.querySelectorAll("#log li .id")].some((s) => s.textContent === id),
      longId, { timeout: 10000 });
    const widths = {};
    for (const width of [1280, 1024, 800, 390]) {
      await page.setViewportSize({ width, height: 720 });
      await page.waitForTimeout(100);
      widths[width] = await page.evaluate(layout);
    }
    await page.setViewportSize({ width: 1280, height: 720 });
    await page.screenshot({ path: screenshot });
    // A click on a cut id shows it whole.
    const idCell = page.locator("#log li .id", { hasText: longId }).first();
    const cut = await idCell.evaluate((s) => s.scrollWidth > s.clientWidth + 1);
    await idCell.click();
    const whole = await idCell.evaluate((s) => s.classList.contains("full") && s.scrollWidth <= s.clientWidth + 1);
    const title = await idCell.getAttribute("title");
    const shown = await page.evaluate(() => ({
      state: document.body.dataset.state,
      events: Number(document.body.dataset.events),
      points: Number(document.body.dataset.points),
      legend: [...document.querySelectorAll("#legend span")].map((s) => s.textContent.split(" ")[0]),
      firstLogType: [...document.querySelectorAll("#log li .type")].map((s) => s.textContent).find((t) => t === "sensor"),
    }));
    console.log(JSON.stringify({ ...shown, status, widths, longId: { cut, whole, title } }));
  }
} finally {
  await browser.close();
}
