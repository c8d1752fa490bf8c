// The admin view: firing alerts (live), what the security scanner found and
// the audit log.

import { api, clearProblem, formData, showProblem } from "../api.js";
import { show } from "../app.js";
import { field, h } from "../dom.js";
import { LiveChannels } from "../live.js";
import { currentUser } from "../session.js";

export async function render(main) {
  const user = await currentUser({ refresh: true });
  if (!user || user.role !== "admin") {
    if (!user) show("/login");
    else main.append(h("h1", {}, "Admins only"), h("p", {}, "This page is for the platform's admins."));
    return;
  }
  const alerts = h("section", { class: "alerts", "aria-labelledby": "alerts-title" });
  const findings = h("section", { class: "findings", "aria-labelledby": "findings-title" });
  const backups = h("section", { class: "backups", "aria-labelledby": "backups-title" });
  const audit = h("section", { class: "audit", "aria-labelledby": "audit-title" });
  main.append(h("h1", {}, "Admin"), alerts, findings, backups, audit);
  const live = await renderAlerts(alerts);
  await renderFindings(findings);
  await renderBackups(backups);
  renderAudit(audit);
  return () => live.close();
}

// Firing alerts from the API, then kept current by the `alerts:all` channel:
// its snapshot and updates carry each alert whole, keyed by fingerprint.
async function renderAlerts(section) {
  const known = new Map();
  const list = h("ul", { class: "alert-list", "aria-live": "polite" });
  const problem = h("p", { class: "form-error", role: "alert", hidden: true });
  const draw = () => {
    const firing = [...known.values()].filter((a) => a.state === "firing").sort((a, b) => a.started_at.localeCompare(b.started_at));
    list.replaceChildren(...(firing.length ? firing.map(alertItem) : [h("li", {}, "No alerts are firing.")]));
  };
  const alertItem = (alert) => {
    const ack = h("button", { type: "button", onclick: async () => {
      ack.disabled = true;
      problem.hidden = true;
      try {
        known.set(alert.fingerprint, await api("POST", `/api/admin/alerts/${encodeURIComponent(alert.fingerprint)}/ack`));
        draw();
      } catch (error) {
        problem.textContent = error.message;
        problem.hidden = false;
        ack.disabled = false;
      }
    } }, "Acknowledge");
    return h(
      "li",
      { "data-fingerprint": alert.fingerprint, "data-name": alert.name },
      h("strong", { class: `sev sev-${alert.severity}` }, alert.severity),
      " ",
      alert.name,
      ": ",
      alert.summary,
      h("small", {}, ` since ${alert.started_at}`),
      alert.acknowledged_by ? h("p", { class: "acked" }, `Acknowledged by ${alert.acknowledged_by} at ${alert.acknowledged_at}`) : h("p", {}, ack),
    );
  };
  section.append(h("h2", { id: "alerts-title" }, "Firing alerts"), problem, list);
  try {
    for (const alert of await api("GET", "/api/admin/alerts?state=firing")) known.set(alert.fingerprint, alert);
  } catch (error) {
    problem.textContent = error.message;
    problem.hidden = false;
  }
  draw();
  const live = new LiveChannels();
  live.subscribe("alerts:all", (frame) => {
    if (frame.op === "snapshot") known.clear();
    for (const alert of frame.data.alerts) known.set(alert.fingerprint, alert);
    draw();
  });
  return live;
}

async function renderFindings(section) {
  const list = h("ul", { class: "finding-list" });
  const scan = h("button", { type: "button", onclick: async () => {
    scan.disabled = true;
    try {
      await api("POST", "/api/admin/security/scans");
      await fill();
    } finally {
      scan.disabled = false;
    }
  } }, "Scan now");
  const fill = async () => {
    const items = await api("GET", "/api/admin/security/findings");
    list.replaceChildren(
      ...(items.length
        ? items.map((f) =>
            h(
              "li",
              { "data-severity": f.severity, "data-id": f.id },
              h("strong", { class: `sev sev-${f.severity}` }, f.severity),
              " ",
              f.title,
              h("p", {}, f.evidence),
              h("p", { class: "remedy" }, "Fix: ", f.remedy),
              h("small", {}, `seen first ${f.first_seen}, last ${f.last_seen}`),
            ),
          )
        : [h("li", {}, "No open findings.")]),
    );
  };
  section.append(h("h2", { id: "findings-title" }, "Security findings"), scan, list);
  await fill();
}

// Backups with their verification, newest first; "Back up now" starts one.
async function renderBackups(section) {
  const body = h("tbody");
  const status = h("p", { role: "status" });
  const fill = async () => {
    const { items } = await api("GET", "/api/admin/backups");
    body.replaceChildren(
      ...items.map((b) =>
        h(
          "tr",
          { "data-id": b.id, "data-status": b.status },
          h("td", {}, b.id),
          h("td", {}, b.status),
          h("td", {}, b.trigger),
          h("td", {}, b.started_at),
          h("td", {}, b.size_bytes === null ? "" : `${(b.size_bytes / 1048576).toFixed(1)} MiB`),
          h("td", {}, b.failed_stage ? `${b.failed_stage}: ${b.detail || ""}` : ""),
        ),
      ),
    );
  };
  const start = h("button", { type: "button", onclick: async () => {
    try {
      const started = await api("POST", "/api/admin/backups");
      status.textContent = `Backup ${started.id} started.`;
    } catch (error) {
      status.textContent = error.message;
    }
    await fill();
  } }, "Back up now");
  const refresh = h("button", { type: "button", class: "link", onclick: fill }, "Refresh");
  section.append(
    h("h2", { id: "backups-title" }, "Backups"),
    start,
    " ",
    refresh,
    status,
    h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        { class: "backup-table" },
        h("thead", {}, h("tr", {}, ...["Backup", "Status", "Trigger", "Started", "Size", "Failure"].map((t) => h("th", { scope: "col" }, t)))),
        body,
      ),
    ),
  );
  await fill();
}

function renderAudit(section) {
  const form = h(
    "form",
    { class: "calc", novalidate: true },
    field("Action", h("input", { name: "action", placeholder: "sign_in" })),
    field("Actor", h("input", { name: "actor", placeholder: "user id or system" })),
    field("Since", h("input", { name: "since", type: "datetime-local", "data-pointer": "/since" })),
    h("button", { type: "submit" }, "Search"),
  );
  const body = h("tbody");
  const more = h("button", { type: "button", hidden: true }, "Older events");
  let query = {};
  let before = null;
  const load = async (append) => {
    clearProblem(form);
    const params = new URLSearchParams({ ...query, limit: "50" });
    if (before) params.set("before", before);
    let page;
    try {
      page = await api("GET", `/api/admin/audit?${params}`);
    } catch (error) {
      showProblem(form, error);
      return;
    }
    const rows = page.events.map((e) =>
      h(
        "tr",
        { "data-seq": e.seq },
        h("td", {}, e.seq),
        h("td", {}, e.at),
        h("td", {}, e.actor),
        h("td", {}, e.action),
        h("td", {}, e.target || ""),
        h("td", {}, e.outcome),
        h("td", {}, e.ip || ""),
      ),
    );
    if (append) body.append(...rows);
    else body.replaceChildren(...rows);
    before = page.next_before;
    more.hidden = !before;
  };
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    query = formData(form);
    if (query.since) query.since = new Date(query.since).toISOString();
    before = null;
    load(false);
  });
  more.addEventListener("click", () => load(true));
  section.append(
    h("h2", { id: "audit-title" }, "Audit log"),
    form,
    h(
      "div",
      { class: "table-wrap tall" },
      h(
        "table",
        { class: "audit-table" },
        h("thead", {}, h("tr", {}, ...["#", "Time", "Actor", "Action", "Target", "Outcome", "IP"].map((t) => h("th", { scope: "col" }, t)))),
        body,
      ),
    ),
    more,
  );
  load(false);
}
