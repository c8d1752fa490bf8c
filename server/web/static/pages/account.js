// The signed-in user's account: who they are, their devices, sign out.

import { api } from "../api.js";
import { show } from "../app.js";
import { h } from "../dom.js";
import { currentUser, forgetUser } from "../session.js";

export async function render(main) {
  const user = await currentUser({ refresh: true });
  if (!user) {
    show("/login");
    return;
  }
  const sessions = h("ul", { class: "sessions" });
  const signOut = h("button", { type: "button", onclick: async () => {
    await api("POST", "/api/auth/logout").catch(() => null);
    forgetUser();
    show("/login");
  } }, "Sign out");
  main.append(
    h("h1", {}, `Hello, ${user.name}`),
    h("dl", { class: "me" }, h("dt", {}, "Email"), h("dd", {}, user.email, user.email_verified ? " (verified)" : " (not verified yet)"), h("dt", {}, "Role"), h("dd", { "data-field": "role" }, user.role)),
    signOut,
    h("h2", {}, "Where you are signed in"),
    sessions,
  );
  await listSessions(sessions);
}

async function listSessions(list) {
  const items = await api("GET", "/api/auth/sessions");
  list.replaceChildren(
    ...items.map((session) =>
      h(
        "li",
        {},
        h("span", {}, session.user_agent || "Unknown device", " · ", session.ip || "", " · last used ", new Date(session.last_seen_at).toLocaleString()),
        session.current
          ? h("em", {}, " (this device)")
          : h("button", { type: "button", class: "link", onclick: async () => {
              await api("DELETE", `/api/auth/sessions/${session.id}`);
              await listSessions(list);
            } }, "Sign out that device"),
      ),
    ),
  );
}
