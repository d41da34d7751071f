// Receives events with the npm `eventsource` package (a third-party
// EventSource) and prints one JSON line per event.
//
// usage: node eventsource.mjs URL COUNT [LAST_EVENT_ID_TYPES...]
import { EventSource } from "eventsource";

const [url, count, ...types] = process.argv.slice(2);
let seen = 0;
const source = new EventSource(url);
const print = (e) => {
  console.log(JSON.stringify({ type: e.type, data: e.data, last_event_id: e.lastEventId }));
  if (++seen >= Number(count)) {
    source.close();
    process.exit(0);
  }
};
source.onmessage = print;
for (const t of types) source.addEventListener(t, print);
source.onopen = () => console.log("open");
source.onerror = (e) => console.error("eventsource error", e.message ?? "");
setTimeout(() => { console.error(`timeout after ${seen} events`); process.exit(1); }, 20000);
