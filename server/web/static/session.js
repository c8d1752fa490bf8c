// Who is signed in, read once per page load and after sign-in or sign-out.

import { api } from "./api.js";

let current;

export async function currentUser({ refresh = false } = {}) {
  if (current === undefined || refresh) {
    try {
      current = await api("GET", "/api/auth/me");
    } catch {
      current = null;
    }
    document.dispatchEvent(new CustomEvent("rateline:user", { detail: current }));
  }
  return current;
}

export function forgetUser() {
  current = null;
  document.dispatchEvent(new CustomEvent("rateline:user", { detail: null }));
}
