// Ten EventSources on one page of a running `sse serve --tls-cert …`, in
// Debian's headless Chromium: over HTTP/2 they share one connection, so
// all ten stay open (over HTTP/1.1 a browser allows six per origin).
// Prints "open" once every stream is open, then, after the test published
// three events, one JSON line: the events each stream received and the
// protocol the page and the streams used.
//
// usage: node h2.mjs BASE_URL
import { launch } from "./launch.mjs";

const [base] = process.argv.slice(2);
const browser = await launch();
try {
  // The test's certificate is self-signed for localhost.
  const context = await browser.newContext({ ignoreHTTPSErrors: true });
  const page = await context.newPage();
  await page.goto(`${base}/`);
  await page.evaluate(() => new Promise((resolve, reject) => {
    window.got = [];
    let open = 0;
    for (let i = 0; i < 10; i++) {
      window.got.push([]);
      const source = new EventSource("/events");
      source.onmessage = (e) => window.got[i].push(e.data);
      source.onopen = () => { open += 1; if (open === 10) resolve(); };
      source.onerror = () => { if (source.readyState === EventSource.CLOSED) reject(new Error("closed")); };
    }
    setTimeout(() => reject(new Error(`only ${open} of 10 streams opened`)), 15000);
  }));
  console.log("open");
  await page.waitForFunction(() => window.got.every((events) => events.length >= 3), null, { timeout: 20000 });
  const shown = await page.evaluate(() => ({
    got: window.got,
    page: performance.getEntriesByType("navigation")[0].nextHopProtocol,
  }));
  console.log(JSON.stringify(shown));
} finally {
  await browser.close();
}
