// The page router: each path of the app maps to a page module that draws
// into <main>; links inside the app change the page without a reload.

import * as ratesPage from "./pages/rates.js";
import { currentUser } from "./session.js";

const PAGES = {
  "/": async () => ratesPage, // the landing page, loaded with the app
  "/calculator": () => import("./pages/calculator.js"),
  "/signup": () => import("./pages/signup.js"),
  "/verify": () => import("./pages/verify.js"),
  "/login": () => import("./pages/login.js"),
  "/forgot-password": () => import("./pages/forgot.js"),
  "/reset-password": () => import("./pages/reset.js"),
  "/account": () => import("./pages/account.js"),
  "/admin": () => import("./pages/admin.js"),
  "/payments": () => import("./pages/payments.js"),
  "/talk-to-a-broker": () => import("./pages/lead.js"),
  "/broker": () => import("./pages/broker.js"),
};

// The payment page is served with its own policy (Stripe.js may load there
// and nowhere else), so it, and any page after it, opens as a new document.
const PAYMENT_PAGE = "/payments";
const loadedAs = location.pathname;
const newDocument = (pathname) => pathname !== loadedAs && (pathname === PAYMENT_PAGE || loadedAs === PAYMENT_PAGE);

const main = document.getElementById("main");
let leave = null;

export async function show(path, { push = true } = {}) {
  const url = new URL(path, location.origin);
  if (push && newDocument(url.pathname)) return location.assign(url);
  if (push) history.pushState(null, "", url);
  const load = PAGES[url.pathname];
  if (leave) {
    leave();
    leave = null;
  }
  main.replaceChildren();
  for (const link of document.querySelectorAll("[data-nav]")) {
    link.toggleAttribute("aria-current", link.getAttribute("href") === url.pathname);
  }
  if (!load) {
    main.innerHTML = '<h1>Not found</h1><p>There is no such page. <a href="/">See today\'s rates</a>.</p>';
    return;
  }
  const page = await load();
  leave = (await page.render(main, url.searchParams)) || null;
  main.focus({ preventScroll: true });
}

document.addEventListener("click", (event) => {
  const link = event.target.closest("a[href]");
  if (!link || link.target || link.hasAttribute("download") || event.ctrlKey || event.metaKey || event.shiftKey) return;
  const url = new URL(link.href);
  if (url.origin !== location.origin || !(url.pathname in PAGES) || newDocument(url.pathname)) return;
  event.preventDefault();
  show(url.pathname + url.search);
});

window.addEventListener("popstate", () => show(location.pathname + location.search, { push: false }));

document.addEventListener("rateline:user", ({ detail: user }) => {
  for (const node of document.querySelectorAll("[data-when]")) {
    const wanted = {
      "signed-in": Boolean(user),
      "signed-out": !user,
      admin: user?.role === "admin",
      broker: user?.role === "broker",
    };
    node.hidden = !wanted[node.dataset.when];
  }
  document.getElementById("who").textContent = user ? user.name : "";
});

currentUser();
show(location.pathname + location.search, { push: false });
