// Opens BASE_URL/ in Debian's headless Chromium, then an EventSource to
// /events on that page, listening for `message` and every TYPE given;
// once the EventSource is closed for good (the server answered its
// reconnection with 204), prints one JSON line per event received:
// {"type","data","last_event_id"}.
//
// usage: node stream-events.mjs BASE_URL [TYPE...]
import { launch } from "./launch.mjs";

const [base, ...types] = process.argv.slice(2);
const browser = await launch();
try {
  const page = await browser.newPage();
  await page.goto(`${base}/`);
  const events = await page.evaluate((types) => new Promise((resolve) => {
    const events = [];
    const source = new EventSource("/events");
    const record = (e) => events.push({ type: e.type, data: e.data, last_event_id: e.lastEventId });
    source.onmessage = record;
    for (const t of types) source.addEventListener(t, record);
    source.onerror = () => { if (source.readyState === EventSource.CLOSED) resolve(events); };
    setTimeout(() => resolve(events), 20000);
  }), types);
  for (const e of events) console.log(JSON.stringify(e));
} finally {
  await browser.close();
}
