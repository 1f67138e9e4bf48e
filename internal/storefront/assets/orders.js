// Past orders, and one order watched live from Pending to Completed or Failed.
import { h, put, shortId, money, when, pager, busy, latest } from "./dom.js";
import * as api from "./api.js";

const mine = { stack: [""] };

const explain = {
  "out of stock": "A book in the order has no copies left. Any payment was refunded.",
  "insufficient balance": "Your balance was too low to pay for the order. Top up tokens and order again.",
  "unknown book": "A book in the order is no longer in the catalogue.",
};

// titles maps book ids to titles (books removed since show their id).
export async function titles(ids) {
  const uniq = [...new Set(ids)].slice(0, 100);
  if (!uniq.length) return {};
  const page = await api.books({ ids: uniq.join(","), limit: 100 });
  return Object.fromEntries(page.items.map((b) => [b.bookId, b.title]));
}

export function statusBadge(o) {
  return h("span", { class: `badge ${o.status.toLowerCase()}` }, o.status);
}

export async function ordersView(root) {
  const list = h("section", { "aria-label": "Your orders" });
  root.append(list);
  const begin = latest();
  async function load() {
    const current = begin();
    const page = await api.orders({ scope: "mine", limit: 10, cursor: mine.stack.at(-1) });
    if (!current()) return; // a newer page owns the list
    if (!page.items.length) {
      put(list, h("p", {}, "No orders yet. ", h("a", { href: "#/books" }, "Browse the books"), "."));
      return;
    }
    const names = await titles(page.items.flatMap((o) => o.items.map((i) => i.bookId)));
    if (!current()) return;
    put(list, h("div", { class: "table-wrap" }, h("table", {},
      h("thead", {}, h("tr", {}, ["Order", "Placed", "Books", "Total", "Status"].map((c) => h("th", { scope: "col" }, c)))),
      h("tbody", {}, page.items.map((o) => h("tr", {},
        h("td", {}, h("a", { href: `#/order/${o.id}` }, `Order ${shortId(o.id)}`)),
        h("td", {}, when(o.createdAt)),
        h("td", {}, o.items.map((i) => `${i.quantity} × ${names[i.bookId] || i.bookId}`).join(", ")),
        h("td", {}, money(o.totalPrice)),
        h("td", {}, statusBadge(o), o.failReason ? ` (${o.failReason})` : "")))))),
    pager("Order pages", page, mine, load));
  }
  mine.stack = [""];
  await load();
}

export async function orderView(root, ctx) {
  const id = ctx.params[0];
  const status = h("div", { class: "order-status", role: "status", "aria-live": "polite", id: "order-status" });
  const details = h("div", {});
  root.append(status, details);
  let names = null;
  const show = async (o) => {
    ctx.heading.textContent = `Order ${shortId(o.id)}`;
    put(status, 
      h("p", { class: "status-line" }, "Status: ", statusBadge(o)),
      o.status === "Pending" ? h("p", {}, "Paying and packing… this page updates by itself.") : null,
      o.status === "Completed" ? h("p", {}, `Paid ${money(o.totalPrice)}. Thank you!`) : null,
      o.status === "Failed" ? h("p", { class: "reason" }, `Reason: ${o.failReason || "unknown"}. `, explain[o.failReason] || "") : null);
    names = names || await titles(o.items.map((i) => i.bookId));
    const again = h("form", { onsubmit: (e) => {
      e.preventDefault();
      busy(again, async () => {
        const out = await api.placeOrder(o.items.flatMap((i) => Array(i.quantity).fill(i.bookId)), api.newKey());
        ctx.go(`#/order/${out.orderId}`);
      });
    } }, h("button", { type: "submit" }, "Order the same books again"));
    put(details, 
      h("ul", { class: "items" }, o.items.map((i) => h("li", {}, `${i.quantity} × ${names[i.bookId] || i.bookId} at ${money(i.price)}`))),
      h("p", {}, `Total ${money(o.totalPrice)} · placed ${when(o.createdAt)}`),
      o.status !== "Pending" ? again : null,
      h("p", {}, h("a", { href: "#/orders" }, "All your orders"), " · ", h("a", { href: "#/account" }, "Balance history")));
  };
  const o = await api.order(id);
  await show(o);
  if (o.status === "Pending") {
    api.watchOrder(id, (next) => { if (!ctx.signal.aborted) show(next); }, ctx.signal).catch((err) => {
      if (!err?.sessionEnded && !ctx.signal.aborted) status.append(h("p", { class: "error", role: "alert" }, err.message));
    });
  }
}
