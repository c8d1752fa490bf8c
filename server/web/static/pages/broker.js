// The broker desk: offers arrive live on broker:<id> with a countdown to
// their deadline; an accepted lead shows its contact details and status
// buttons; the stored notifications show what arrived while away.

import { api } from "../api.js";
import { show } from "../app.js";
import { dollars, h } from "../dom.js";
import { LiveChannels } from "../live.js";
import { currentUser } from "../session.js";

const NEXT_STATUS = { accepted: ["contacted"], contacted: ["won", "lost"] };
const STATUS_LABEL = { contacted: "Mark contacted", won: "Mark won", lost: "Mark lost" };
const TIMELINE = { now: "now", "3_months": "within 3 months", "6_months": "within 6 months", later: "later" };

export async function render(main) {
  const user = await currentUser({ refresh: true });
  if (!user || user.role !== "broker") {
    if (!user) show("/login");
    else main.append(h("h1", {}, "Brokers only"), h("p", {}, "The desk is for the brokers of Rateline's network."));
    return;
  }
  const status = h("p", { class: "status", "data-status": "connecting", role: "status" }, "Connecting…");
  const offers = h("div", { class: "offers", "aria-live": "polite" });
  const leads = h("div", { class: "my-leads" });
  const inbox = h("ul", { class: "notifications" });
  main.append(
    h("h1", {}, "Broker desk"),
    status,
    h("section", { "aria-labelledby": "offers-title" }, h("h2", { id: "offers-title" }, "Offers"), offers),
    h("section", { "aria-labelledby": "leads-title" }, h("h2", { id: "leads-title" }, "Your leads"), leads),
    h("section", { "aria-labelledby": "inbox-title" }, h("h2", { id: "inbox-title" }, "Notifications"), inbox),
  );
  const desk = new Desk(offers, leads, inbox);
  const live = new LiveChannels({
    onStatus: (state) => {
      status.dataset.status = state;
      status.textContent = { live: "Live: new offers appear here", connecting: "Connecting…", reconnecting: "Reconnecting…" }[state];
      if (state === "live") desk.refresh(); // catch up on what a drop missed
    },
  });
  live.subscribe(`broker:${user.id}`, (frame) => desk.receive(frame.data));
  const ticker = setInterval(() => desk.tick(), 1000);
  await desk.refresh();
  return () => {
    clearInterval(ticker);
    live.close();
  };
}

class Desk {
  constructor(offers, leads, inbox) {
    this.offers = offers;
    this.leads = leads;
    this.inbox = inbox;
    this.cards = new Map(); // lead id -> offer card
  }

  async refresh() {
    const [all, notes] = await Promise.all([api("GET", "/api/leads"), api("GET", "/api/notifications?limit=50")]);
    for (const lead of all) {
      if (lead.status === "offered" && lead.offer_deadline && !lead.broker_id) this.offer(lead, lead.offer_deadline);
    }
    this.placeholder();
    const mine = all.filter((lead) => lead.broker_id);
    this.leads.replaceChildren(...(mine.length ? mine.map((lead) => this.leadCard(lead)) : [h("p", { class: "empty" }, "No leads yet.")]));
    this.showNotes(notes);
  }

  receive(data) {
    if (data.kind === "lead_offered") this.offer(data.lead, data.deadline);
    else if (data.kind === "lead_offer_expired" || data.kind === "lead_opted_out") this.withdraw(data.lead.id, data.kind === "lead_opted_out" ? "The borrower opted out." : "The offer expired.");
    api("GET", "/api/notifications?limit=50").then((notes) => this.showNotes(notes), () => null);
  }

  offer(lead, deadline) {
    if (this.cards.has(lead.id)) return;
    const countdown = h("span", { class: "countdown", "data-deadline": deadline });
    const note = h("p", { class: "offer-note", role: "alert" });
    const accept = h("button", { type: "button", onclick: () => this.answer(card, "accept") }, "Accept");
    const decline = h("button", { type: "button", class: "secondary", onclick: () => this.answer(card, "decline") }, "Decline");
    const card = h(
      "article",
      { class: "offer", "data-lead": lead.id },
      h("h3", {}, `${lead.first_name} · ${lead.state} · ${lead.purpose}`),
      h("p", {}, `Loan ${dollars(lead.loan_amount)}`, lead.credit_score ? ` · credit ${lead.credit_score}` : "", ` · buying ${TIMELINE[lead.timeline] || lead.timeline}`, lead.tier ? ` · ${lead.tier}` : ""),
      h("p", {}, "Answer within ", countdown),
      h("div", { class: "actions" }, accept, decline),
      note,
    );
    card.note = note;
    this.cards.set(lead.id, card);
    this.offers.querySelector(".empty")?.remove();
    this.offers.prepend(card);
    this.tick();
  }

  withdraw(id, why) {
    const card = this.cards.get(id);
    if (!card) return;
    this.cards.delete(id);
    if (!why) {
      card.remove();
      return this.placeholder();
    }
    card.classList.add("gone");
    card.querySelectorAll("button").forEach((button) => (button.disabled = true));
    card.note.textContent = why;
    setTimeout(() => {
      card.remove();
      this.placeholder();
    }, 8000);
  }

  placeholder() {
    if (!this.offers.children.length) this.offers.append(h("p", { class: "empty" }, "No open offers. New ones appear here as they arrive."));
  }

  tick() {
    for (const card of this.cards.values()) {
      const counter = card.querySelector(".countdown");
      const left = Math.max(0, Math.round((new Date(counter.dataset.deadline) - Date.now()) / 1000));
      counter.textContent = `${Math.floor(left / 60)}:${String(left % 60).padStart(2, "0")}`;
      card.classList.toggle("urgent", left <= 30);
      if (left === 0) this.withdraw(card.dataset.lead, "The offer expired.");
    }
  }

  async answer(card, verb) {
    card.querySelectorAll("button").forEach((button) => (button.disabled = true));
    try {
      const result = await api("POST", `/api/leads/${card.dataset.lead}/${verb}`);
      this.cards.delete(card.dataset.lead);
      card.remove();
      this.placeholder();
      if (verb === "accept") this.showLead(result).querySelector("button")?.focus();
    } catch (error) {
      const why = error.status === 409 ? `Too late: ${error.message}.` : error.message;
      this.withdraw(card.dataset.lead, why);
    }
  }

  showLead(lead) {
    const card = this.leadCard(lead);
    const old = this.leads.querySelector(`[data-lead="${lead.id}"]`);
    if (old) old.replaceWith(card);
    else {
      this.leads.querySelector(".empty")?.remove();
      this.leads.prepend(card);
    }
    return card;
  }

  leadCard(lead) {
    const note = h("p", { class: "offer-note", role: "alert" });
    const buttons = (NEXT_STATUS[lead.status] || []).map((next) =>
      h("button", { type: "button", onclick: async () => {
        try {
          this.showLead(await api("POST", `/api/leads/${lead.id}/status`, { status: next })).querySelector("button")?.focus();
        } catch (error) {
          note.textContent = error.message;
        }
      } }, STATUS_LABEL[next]),
    );
    return h(
      "article",
      { class: "lead-card", "data-lead": lead.id, "data-status": lead.status },
      h("h3", {}, lead.name || lead.first_name, " ", h("span", { class: "badge" }, lead.status)),
      h(
        "dl",
        { class: "me" },
        h("dt", {}, "Phone"), h("dd", { "data-field": "phone" }, lead.phone ? h("a", { href: `tel:${lead.phone}` }, lead.phone) : "—"),
        h("dt", {}, "Email"), h("dd", { "data-field": "email" }, lead.email ? h("a", { href: `mailto:${lead.email}` }, lead.email) : "—"),
        h("dt", {}, "Loan"), h("dd", {}, `${dollars(lead.loan_amount)} · ${lead.purpose} in ${lead.state}`),
        h("dt", {}, "Timeline"), h("dd", {}, TIMELINE[lead.timeline] || lead.timeline),
        lead.message ? [h("dt", {}, "Message"), h("dd", { class: "message" }, lead.message)] : null,
      ),
      buttons.length ? h("div", { class: "actions" }, ...buttons) : null,
      note,
    );
  }

  showNotes(notes) {
    this.inbox.replaceChildren(
      ...(notes.length
        ? notes.map((note) => {
            const read = h("button", { type: "button", class: "link", onclick: async () => {
              await api("POST", `/api/notifications/${note.id}/read`);
              item.classList.add("read");
              read.replaceWith(h("span", { class: "read-mark" }, "read"));
            } }, "Mark read");
            const item = h(
              "li",
              { "data-kind": note.kind, class: note.read_at ? "read" : "unread" },
              h("time", { datetime: note.created_at }, new Date(note.created_at).toLocaleString()),
              " ",
              describe(note.data),
              " ",
              note.read_at ? h("span", { class: "read-mark" }, "read") : read,
            );
            return item;
          })
        : [h("li", { class: "empty" }, "Nothing yet.")]),
    );
  }
}

function describe(data) {
  const who = data.lead?.first_name || "a borrower";
  switch (data.kind) {
    case "lead_offered":
      return `New lead offered: ${who} in ${data.lead.state}, ${dollars(data.lead.loan_amount)}.`;
    case "lead_offer_expired":
      return `The offer of ${who}'s lead expired.`;
    case "lead_opted_out":
      return `${who} opted out: do not contact them.`;
    default:
      return data.kind.replaceAll("_", " ");
  }
}
