// Mercure subscribers in Debian's headless Chromium, on a running
// `sse serve` (plain HTTP/1.1, or HTTPS with HTTP/2): a page whose origin
// holds a subscriber token in the `mercureAuthorization` cookie and a page
// without it each open `new EventSource("/.well-known/mercure?topic=…")`
// with a URI template and an exact topic, the way Mercure's documentation
// writes it. Prints "open" once every stream is open, then (after the test
// publishes through the Mercure endpoint) one JSON line: what each page
// received, with ids, and the protocol the page used.
//
// usage: node mercure.mjs BASE_URL TOKEN
import { launch } from "./launch.mjs";

const [base, token] = process.argv.slice(2);
const browser = await launch();

// In the page: an EventSource on the hub, collecting [id, data] pairs.
function subscribe() {
  return new Promise((resolve, reject) => {
    const url = new URL("/.well-known/mercure", window.location.origin);
    url.searchParams.append("topic", "https://example.com/books/{id}");
    url.searchParams.append("topic", "https://example.com/authors/7");
    window.got = [];
    const source = new EventSource(url);
    source.onmessage = (e) => window.got.push([e.lastEventId, e.data]);
    source.onopen = () => resolve();
    source.onerror = () => { if (source.readyState === EventSource.CLOSED) reject(new Error("closed")); };
  });
}

try {
  const pages = {};
  for (const name of ["granted", "anonymous"]) {
    // The test's certificate is self-signed for localhost.
    const context = await browser.newContext({ ignoreHTTPSErrors: true });
    if (name === "granted") {
      await context.addCookies([{ name: "mercureAuthorization", value: token, url: base }]);
    }
    pages[name] = await context.newPage();
    await pages[name].goto(`${base}/`);
    await pages[name].evaluate(subscribe);
  }
  // The dashboard, subscribed through the Mercure endpoint with the page's
  // token in the cookie.
  const dashboard = await pages.granted.context().newPage();
  await dashboard.goto(`${base}/?hub=mercure&topic=${encodeURIComponent("https://example.com/books/{id}")}`);
  await dashboard.waitForFunction(() => document.body.dataset.state === "open", null, { timeout: 20000 });
  console.log("open");
  await pages.granted.waitForFunction(() => window.got.length >= 3, null, { timeout: 20000 });
  await dashboard.waitForFunction(() => Number(document.body.dataset.events) >= 2, null, { timeout: 20000 });
  await pages.anonymous.waitForFunction(() => window.got.length >= 2, null, { timeout: 20000 });
  // Time for a private update to arrive where it must not.
  await new Promise((r) => setTimeout(r, 500));
  console.log(JSON.stringify({
    granted: await pages.granted.evaluate(() => window.got),
    anonymous: await pages.anonymous.evaluate(() => window.got),
    dashboard: await dashboard.evaluate(() => [...document.querySelectorAll("#log li .data")].map((s) => s.textContent).reverse()),
    protocol: await pages.granted.evaluate(() => performance.getEntriesByType("navigation")[0].nextHopProtocol),
  }));
} finally {
  await browser.close();
}
