// Private events in Chromium: a page of a running `sse serve` opens
// EventSources that carry a subscriber token in the `sse_auth` cookie or
// the `authorization` query parameter, the dashboard opened with
// ?topic=...&authorization=... passes both on, and a page without a token
// sees only public events. Prints "open" once every stream is open, then
// (after the test publishes one public and one private event on
// orders/42) one JSON line of what each received.
//
// usage: node private.mjs BASE_URL TOKEN
import { launch } from "./launch.mjs";

const [base, token] = process.argv.slice(2);
const browser = await launch();

// Opens `url` as an EventSource in `page`, collecting data into window[name].
async function listen(page, name, url) {
  await page.evaluate(([name, url]) => new Promise((resolve, reject) => {
    window[name] = [];
    const source = new EventSource(url);
    source.onmessage = (e) => window[name].push(e.data);
    source.onopen = () => resolve();
    source.onerror = () => { if (source.readyState === EventSource.CLOSED) reject(new Error(name + " closed")); };
  }), [name, url]);
}

try {
  const granted = await browser.newContext();
  await granted.addCookies([{ name: "sse_auth", value: token, url: base }]);
  const page = await granted.newPage();
  await page.goto(`${base}/?topic=${encodeURIComponent("orders/*")}&authorization=${token}`);
  await page.waitForFunction(() => document.body.dataset.state === "open", null, { timeout: 20000 });
  await listen(page, "cookie", "/events?topic=orders/*");
  await listen(page, "query", `/events?topic=orders%2F*&authorization=${token}`);
  const stranger = await (await browser.newContext()).newPage();
  await stranger.goto(`${base}/?topic=orders/*`);
  await listen(stranger, "anonymous", "/events?topic=orders/*");
  console.log("open");
  await page.waitForFunction(() => window.cookie.length >= 2 && window.query.length >= 2
    && Number(document.body.dataset.events) >= 2, null, { timeout: 20000 });
  await stranger.waitForFunction(() => window.anonymous.length >= 1, null, { timeout: 20000 });
  // Time for a private event to arrive where it must not.
  await new Promise((r) => setTimeout(r, 500));
  const log = await page.evaluate(() => [...document.querySelectorAll("#log li .data")].map((s) => s.textContent).reverse());
  console.log(JSON.stringify({
    cookie: await page.evaluate(() => window.cookie),
    query: await page.evaluate(() => window.query),
    dashboard: log,
    anonymous: await stranger.evaluate(() => window.anonymous),
  }));
} finally {
  await browser.close();
}
