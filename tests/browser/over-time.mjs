// What a browser meets over time on a running `sse serve`, in Debian's
// headless Chromium. Each mode prints one JSON line of what the pages saw.
//
//   node over-time.mjs expiry BASE SHORT_TOKEN LONG_TOKEN
//     Two pages hold a subscriber token in the `sse_auth` cookie that
//     expires in a few seconds; one page puts a fresh token in the cookie
//     meanwhile, the other does not. A publisher page publishes a private
//     event every 250 ms. The stream of each is closed when its token
//     expires: the refreshed page reconnects with its new token and
//     resumes (Last-Event-ID), the other is refused (401) and receives
//     nothing private after its token's expiry.
//
//   node over-time.mjs refused BASE
//     At --max-clients 1, a first page holds the slot; a second page's
//     EventSource is refused, comes back by itself once the first page
//     closes its stream, and receives the next event.
//
//   node over-time.mjs cors HUB PAGE_PORT SUBSCRIBE_TOKEN PUBLISH_TOKEN
//     A page of another origin (http://localhost:PAGE_PORT, served here)
//     opens `new EventSource(HUB/events, {withCredentials: true})` with the
//     hub's `sse_auth` cookie, and publishes a private event with `fetch`
//     and an `Authorization` header (a preflighted request).
import http from "node:http";
import { launch } from "./launch.mjs";

const [mode, ...args] = process.argv.slice(2);
const browser = await launch();

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// In the page: an EventSource on `target` (a URL, or [URL, init]) whose
// opens, events and errors are kept in window.seen.
function watch(target) {
  const [url, init] = Array.isArray(target) ? target : [target, {}];
  window.seen = { opens: 0, data: [], errors: 0, closed: false, lastId: "" };
  const source = new EventSource(url, init);
  window.source = source;
  source.onopen = () => { window.seen.opens += 1; };
  source.onmessage = (e) => { window.seen.data.push(e.data); window.seen.lastId = e.lastEventId; };
  source.onerror = () => {
    window.seen.errors += 1;
    if (source.readyState === EventSource.CLOSED) window.seen.closed = true;
  };
}

try {
  if (mode === "expiry") {
    const [base, short, long] = args;
    const pages = {};
    for (const name of ["refreshed", "stale"]) {
      const context = await browser.newContext();
      await context.addCookies([
        { name: "theme", value: "dark", url: base },
        { name: "sse_auth", value: short, url: base },
      ]);
      pages[name] = await context.newPage();
      await pages[name].goto(`${base}/health-check-page-that-is-404`);
      await pages[name].evaluate(watch, "/events?topic=orders/*");
      await pages[name].waitForFunction(() => window.seen.opens === 1, null, { timeout: 10000 });
    }
    // The refreshed page's application fetched a new token.
    await pages.refreshed.evaluate((long) => { document.cookie = `sse_auth=${long}; path=/`; }, long);
    const publisher = await (await browser.newContext()).newPage();
    await publisher.goto(`${base}/health-check-page-that-is-404`);
    console.log("open");
    // A private event every 250 ms for 12 s, each numbered, with the
    // time it was published.
    const published = await publisher.evaluate(async () => {
      const out = [];
      for (let n = 0; n < 48; n++) {
        const response = await fetch("/publish", {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify([{ data: String(n), topic: "orders/42", private: true }]),
        });
        if (response.status !== 202) throw new Error(`publish: ${response.status}`);
        out.push({ n, at: Date.now() });
        await new Promise((r) => setTimeout(r, 250));
      }
      return out;
    });
    await sleep(4000);
    const seen = {};
    for (const [name, page] of Object.entries(pages)) {
      seen[name] = await page.evaluate(() => ({ ...window.seen, state: window.source.readyState }));
    }
    console.log(JSON.stringify({ published, seen }));
  } else if (mode === "refused") {
    const [base] = args;
    const first = await (await browser.newContext()).newPage();
    await first.goto(`${base}/health-check-page-that-is-404`);
    await first.evaluate(watch, "/events");
    await first.waitForFunction(() => window.seen.opens === 1, null, { timeout: 10000 });
    const second = await (await browser.newContext()).newPage();
    await second.goto(`${base}/health-check-page-that-is-404`);
    await second.evaluate(watch, "/events");
    // Refused: the answer opens and ends at once (an error event), and the
    // EventSource stays CONNECTING: it will try again.
    await second.waitForFunction(() => window.seen.errors >= 1, null, { timeout: 10000 });
    const refused = await second.evaluate(() => ({ ...window.seen, state: window.source.readyState }));
    await first.evaluate(() => window.source.close());
    const started = Date.now();
    // Connected for real: an open that no error followed.
    await second.waitForFunction(() => window.seen.opens > window.seen.errors, null, { timeout: 20000 });
    const cameBackAfter = Date.now() - started;
    await second.evaluate(() => fetch("/publish", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify([{ data: "welcome back" }]),
    }));
    await second.waitForFunction(() => window.seen.data.length >= 1, null, { timeout: 10000 });
    console.log("open");
    const after = await second.evaluate(() => ({ ...window.seen, state: window.source.readyState }));
    console.log(JSON.stringify({ refused, cameBackAfter, after }));
  } else if (mode === "cors") {
    const [hub, pagePort, subscribe, publish] = args;
    const server = http.createServer((_, res) => {
      res.writeHead(200, { "Content-Type": "text/html" });
      res.end("<!doctype html><title>another origin</title>");
    });
    await new Promise((r) => server.listen(Number(pagePort), "127.0.0.1", r));
    const context = await browser.newContext();
    // The hub's cookie (same site, another origin: another port, as
    // app.example.com and hub.example.com are), sent on requests made
    // with credentials.
    await context.addCookies([{ name: "sse_auth", value: subscribe, url: hub }]);
    const page = await context.newPage();
    await page.goto(`http://localhost:${pagePort}/`);
    await page.evaluate(watch, [`${hub}/events?topic=orders/*`, { withCredentials: true }]);
    await page.waitForFunction(() => window.seen.opens === 1, null, { timeout: 10000 });
    console.log("open");
    const status = await page.evaluate(async ([hub, token]) => {
      const response = await fetch(`${hub}/publish`, {
        method: "POST",
        credentials: "include",
        headers: { "Content-Type": "application/json", Authorization: `Bearer ${token}` },
        body: JSON.stringify([{ data: "cross-origin private", topic: "orders/42", private: true }]),
      });
      return response.status;
    }, [hub, publish]);
    await page.waitForFunction(() => window.seen.data.length >= 1, null, { timeout: 10000 }).catch(() => {});
    const seen = await page.evaluate(() => ({ ...window.seen, state: window.source.readyState }));
    console.log(JSON.stringify({ status, seen, origin: await page.evaluate(() => location.origin) }));
    server.close();
  } else {
    throw new Error(`unknown mode ${mode}`);
  }
} finally {
  await browser.close();
}
