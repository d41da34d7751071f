// Opens the dashboard of a running `sse serve --demo` in Debian's headless
// Chromium, waits until events arrived and the chart drew, saves a
// screenshot, and prints what the page shows as one JSON line.
//
// usage: node dashboard.mjs URL SCREENSHOT.png
import { launch } from "./launch.mjs";

const [url, screenshot] = process.argv.slice(2);
const browser = await launch();
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
  await page.screenshot({ path: screenshot });
  const shown = await page.evaluate(() => ({
    state: document.body.dataset.state,
    events: Number(document.body.dataset.events),
    points: Number(document.body.dataset.points),
    legend: [...document.querySelectorAll("#legend span")].map((s) => s.textContent.split(" ")[0]),
    firstLogType: document.querySelector("#log li .type")?.textContent,
  }));
  console.log(JSON.stringify(shown));
} finally {
  await browser.close();
}
