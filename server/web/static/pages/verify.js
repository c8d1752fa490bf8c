// The emailed verification link lands here and confirms the address.

import { api } from "../api.js";
import { h } from "../dom.js";

export async function render(main, params) {
  main.append(h("h1", {}, "Confirming your email…"));
  try {
    await api("GET", `/api/auth/verify?token=${encodeURIComponent(params.get("token") || "")}`);
    main.replaceChildren(h("h1", {}, "Email confirmed"), h("p", { role: "status" }, "Your address is verified. ", h("a", { href: "/login" }, "Sign in")));
  } catch (error) {
    main.replaceChildren(h("h1", {}, "This link no longer works"), h("p", { role: "alert" }, error.message));
  }
}
