// The admin view: what the security scanner found and the audit log.

import { api, clearProblem, formData, showProblem } from "../api.js";
import { show } from "../app.js";
import { field, h } from "../dom.js";
import { currentUser } from "../session.js";

export async function render(main) {
  const user = await currentUser({ refresh: true });
  if (!user || user.role !== "admin") {
    if (!user) show("/login");
    else main.append(h("h1", {}, "Admins only"), h("p", {}, "This page is for the platform's admins."));
    return;
  }
  const findings = h("section", { class: "findings", "aria-labelledby": "findings-title" });
  const audit = h("section", { class: "audit", "aria-labelledby": "audit-title" });
  main.append(h("h1", {}, "Admin"), findings, audit);
  await renderFindings(findings);
  renderAudit(audit);
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
