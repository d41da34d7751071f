// Opens BASE_URL/ in Debian's headless Chromium, then an EventSource to
// /events on that page; prints "open" once it is open and then the data
// of the first message, each on its own line.
//
// usage: node first-event.mjs BASE_URL
import { launch } from "./launch.mjs";

const [base] = process.argv.slice(2);
const browser = await launch();
try {
  const page = await browser.newPage();
  await page.goto(`${base}/`);
  await page.evaluate(() => new Promise((resolve, reject) => {
    window.first = null;
    const source = new EventSource("/events");
    source.onmessage = (e) => { if (window.first === null) window.first = e.data; };
    source.onopen = () => resolve();
    source.onerror = () => { if (source.readyState === EventSource.CLOSED) reject(new Error("closed")); };
  }));
  console.log("open");
  await page.waitForFunction(() => window.first !== null, null, { timeout: 20000 });
  console.log(await page.evaluate(() => window.first));
} finally {
  await browser.close();
}
