// The development mailbox: on a server without SMTP the emails stay in its
// outbox, and this shows the newest one to an address with its links.

import { api } from "../api.js";
import { h } from "../dom.js";

export async function devMailbox(address) {
  let items;
  try {
    items = await api("GET", `/api/dev/mailbox?to=${encodeURIComponent(address)}&limit=1`);
  } catch {
    return null; // a production server has no mailbox to show
  }
  if (!items.length) return null;
  const mail = items[0];
  const text = h("pre", { class: "mail-text" });
  for (const part of mail.text.split(/(https?:\/\/\S+)/)) {
    text.append(/^https?:\/\//.test(part) ? h("a", { href: part }, part) : part);
  }
  return h(
    "section",
    { class: "dev-mailbox", "aria-label": "Development mailbox" },
    h("h2", {}, "Development server: the email as sent"),
    h("p", {}, h("strong", {}, mail.subject)),
    text,
  );
}
