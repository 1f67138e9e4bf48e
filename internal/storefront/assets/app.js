// The storefront's entry: hash routes (#/books, #/basket, #/orders, #/account, #/admin,
// #/login), the navigation, and the session-ended redirect to the login page.
import { h, put } from "./dom.js";
import * as api from "./api.js";
import { basket } from "./basket.js";
import { catalogView, basketView } from "./shop.js";
import { loginView, accountView } from "./account.js";
import { ordersView, orderView } from "./orders.js";
import { adminView } from "./admin.js";

const routes = {
  books: { title: "Books", view: catalogView, nav: true, auth: true },
  basket: { title: "Basket", view: basketView, nav: true, auth: true },
  orders: { title: "Orders", view: ordersView, nav: true, auth: true },
  order: { title: "Order", view: orderView, auth: true },
  account: { title: "Account", view: accountView, nav: true, auth: true },
  admin: { title: "Admin", view: adminView, nav: true, auth: true, admin: true },
  login: { title: "Log in", view: loginView },
};

let controller = null;
let pendingNotice = "";

// notify shows a short message at the top of the page (announced politely).
export function notify(text) {
  const n = document.getElementById("notice");
  n.textContent = text;
  n.hidden = !text;
}

function go(hash) {
  if (location.hash === hash) render();
  else location.hash = hash;
}

function renderNav(name) {
  const user = api.current();
  const nav = document.getElementById("nav");
  const items = Object.entries(routes).filter(([, r]) => r.nav && (!r.auth || user) && (!r.admin || user?.role === "admin"));
  put(nav, ...items.map(([key, r]) => {
    const label = key === "basket" && basket.count() ? `Basket (${basket.count()})` : r.title;
    return h("li", {}, h("a", { href: `#/${key}`, "aria-current": key === name ? "page" : undefined }, label));
  }));
  if (user) {
    nav.append(h("li", {}, h("button", { type: "button", class: "link", id: "logout", onclick: logout }, "Log out")));
  } else {
    nav.append(h("li", {}, h("a", { href: "#/login", "aria-current": name === "login" ? "page" : undefined }, "Log in")));
  }
  document.getElementById("who").textContent = user ? `${user.email}${user.role === "admin" ? " (admin)" : ""}` : "";
}

async function logout() {
  try {
    await api.logout();
  } catch {
    // the session ends here whatever the server said
  }
}

async function render() {
  const [name, ...rest] = location.hash.replace(/^#\/?/, "").split("/");
  const route = routes[name] || routes.books;
  const key = routes[name] ? name : "books";
  const user = api.current();
  if (route.auth && !user) return go(`#/login`);
  if (route.admin && user.role !== "admin") return go("#/books");
  controller?.abort();
  controller = new AbortController();
  renderNav(key);
  notify(pendingNotice);
  pendingNotice = "";
  const main = document.getElementById("main");
  const heading = h("h1", { tabindex: "-1" }, route.title);
  const body = h("div", { class: "view" });
  put(main, heading, body);
  document.title = `${route.title} · Bookstore`;
  if (renderedOnce) heading.focus();
  renderedOnce = true;
  try {
    await route.view(body, { params: rest.map(decodeURIComponent), signal: controller.signal, go, refreshNav: () => renderNav(key), heading });
  } catch (err) {
    if (err?.sessionEnded) return;
    put(body, h("p", { class: "error", role: "alert" }, err?.message || String(err)));
  }
}
let renderedOnce = false;

api.onSessionEnd((reason) => {
  basket.clear();
  pendingNotice = reason;
  go("#/login");
});
basket.onChange(() => renderNav(location.hash.replace(/^#\/?/, "").split("/")[0] || "books"));
window.addEventListener("hashchange", render);
render();
