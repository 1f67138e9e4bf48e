// The admin view: add books, edit and restock them, and every order with its saga flags.
import { h, put, shortId, field, formValues, busy, money, when, pager, latest } from "./dom.js";
import * as api from "./api.js";
import { statusBadge } from "./orders.js";

const bookPages = { q: "", stack: [""] };
const orderPages = { stack: [""] };

function int(v, name) {
  const n = Number(v);
  if (v === "" || !Number.isInteger(n) || n < 0) throw new Error(`${name} must be a whole number, 0 or more.`);
  return n;
}

export async function adminView(root) {
  const books = h("section", { "aria-labelledby": "admin-books" });
  const orders = h("section", { "aria-labelledby": "admin-orders" });
  const add = h("form", { class: "panel", "aria-labelledby": "add-title", onsubmit: (e) => {
    e.preventDefault();
    busy(add, async () => {
      const v = formValues(add);
      const out = await api.addBook({ title: v.title.trim(), author: v.author.trim(), price: int(v.price, "Price"), amount: int(v.amount, "Stock") });
      add.reset();
      add.append(h("p", { class: "ok", role: "status" }, `Added “${v.title.trim()}” (${shortId(out.bookId)}).`));
      bookPages.stack = [""];
      await loadBooks();
    });
  } },
  h("h2", { id: "add-title" }, "Add a book"),
  h("div", { class: "grid4" },
    field("Title", { name: "title", required: true, maxlength: 500 }),
    field("Author", { name: "author", required: true, maxlength: 500 }),
    field("Price (tokens)", { name: "price", type: "number", min: 0, step: 1, required: true }),
    field("Copies in stock", { name: "amount", type: "number", min: 0, step: 1, required: true })),
  h("button", { type: "submit", class: "primary" }, "Add book"));

  const beginBooks = latest();
  async function loadBooks() {
    const current = beginBooks();
    const page = await api.books({ q: bookPages.q, limit: 10, cursor: bookPages.stack.at(-1) });
    if (!current()) return; // a newer search or page owns the list
    const search = h("form", { role: "search", class: "search", onsubmit: (e) => {
      e.preventDefault();
      bookPages.q = formValues(search).q.trim();
      bookPages.stack = [""];
      loadBooks();
    } }, field("Find a book to edit", { name: "q", type: "search", value: bookPages.q }), h("button", { type: "submit" }, "Find"));
    put(books, h("h2", { id: "admin-books" }, "Books"), search,
      page.items.length ? h("ul", { class: "admin-books" }, page.items.map(bookEditor)) : h("p", {}, "No books."),
      pager("Admin book pages", page, bookPages, loadBooks));
  }

  function bookEditor(b) {
    const edit = h("form", { class: "grid4", "aria-label": `Edit ${b.title}`, onsubmit: (e) => {
      e.preventDefault();
      busy(edit, async () => {
        const v = formValues(edit);
        const saved = await api.updateBook(b.bookId, { title: v.title.trim(), author: v.author.trim(), price: int(v.price, "Price"), amount: int(v.amount, "Stock") });
        Object.assign(b, saved);
        edit.append(h("p", { class: "ok", role: "status" }, `Saved: ${saved.amount} in stock.`));
      });
    } },
    field("Title", { name: "title", value: b.title, required: true }),
    field("Author", { name: "author", value: b.author, required: true }),
    field("Price (tokens)", { name: "price", type: "number", min: 0, step: 1, value: b.price, required: true }),
    field("Copies in stock", { name: "amount", type: "number", min: 0, step: 1, value: b.amount, required: true }),
    h("button", { type: "submit" }, `Save “${b.title}”`));
    // Restock adds copies to the stock as it is now (read just before the update).
    const restock = h("form", { class: "inline", "aria-label": `Restock ${b.title}`, onsubmit: (e) => {
      e.preventDefault();
      busy(restock, async () => {
        const n = int(formValues(restock).copies, "Copies");
        if (n < 1) throw new Error("Add at least one copy.");
        const now = await api.book(b.bookId);
        const saved = await api.updateBook(b.bookId, { amount: now.amount + n });
        edit.querySelector('[name="amount"]').value = saved.amount;
        restock.reset();
        restock.append(h("p", { class: "ok", role: "status" }, `Restocked: ${saved.amount} in stock.`));
      });
    } },
    field("Copies to add", { name: "copies", type: "number", min: 1, step: 1, required: true }),
    h("button", { type: "submit" }, `Restock “${b.title}”`));
    return h("li", { class: "card", "data-book-id": b.bookId }, h("h3", {}, b.title), edit, restock);
  }

  async function loadOrders() {
    const page = await api.orders({ scope: "all", limit: 20, cursor: orderPages.stack.at(-1) });
    const flag = (v) => (v ? "yes" : "no");
    put(orders, h("h2", { id: "admin-orders" }, "All orders"),
      page.items.length ? h("div", { class: "table-wrap" }, h("table", {},
        h("thead", {}, h("tr", {}, ["Order", "User", "Placed", "Total", "Status", "Paid", "Stock reserved", "Reason"].map((c) => h("th", { scope: "col" }, c)))),
        h("tbody", {}, page.items.map((o) => h("tr", {},
          h("td", {}, h("a", { href: `#/order/${o.id}` }, shortId(o.id))),
          h("td", {}, shortId(o.userId)),
          h("td", {}, when(o.createdAt)),
          h("td", {}, money(o.totalPrice)),
          h("td", {}, statusBadge(o)),
          h("td", {}, flag(o.isPaymentProcessed)),
          h("td", {}, flag(o.isInventoryProcessed)),
          h("td", {}, o.failReason || "")))))) : h("p", {}, "No orders yet."),
      pager("Admin order pages", page, orderPages, loadOrders));
  }
  root.append(add, books, orders);
  bookPages.stack = [""];
  orderPages.stack = [""];
  await Promise.all([loadBooks(), loadOrders()]);
}
