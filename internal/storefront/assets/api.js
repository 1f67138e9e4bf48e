// The API client. The session token lives only in this module's closure: never in
// localStorage, sessionStorage or a cookie, and not on window, so script injected into
// the page cannot read it from storage (and the CSP forbids injected script). A reload
// asks for the login again; that is the price of keeping the token out of storage.

let session = null; // {token, email, role, userId, expiresAt}
let expiryTimer = 0;
const listeners = new Set();

// onSessionEnd registers fn(reason) for when the session ends (logout, expiry, revocation).
export function onSessionEnd(fn) { listeners.add(fn); }

export function current() { return session ? { email: session.email, role: session.role, userId: session.userId } : null; }

function end(reason) {
  if (!session) return;
  session = null;
  clearTimeout(expiryTimer);
  for (const fn of listeners) fn(reason);
}

// ApiError carries the API's JSON error: {status, code, message}.
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

// request calls the API; a 401 on an authenticated call ends the session.
export async function request(method, path, body, headers = {}) {
  const h = { Accept: "application/json", ...headers };
  if (session) h.Authorization = `Bearer ${session.token}`;
  if (body !== undefined) h["Content-Type"] = "application/json";
  let resp;
  try {
    resp = await fetch(path, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body), credentials: "omit", cache: "no-store" });
  } catch {
    throw new ApiError(0, "network", "The store cannot be reached. Check your connection and try again.");
  }
  if (resp.status === 204) return null;
  const data = await resp.json().catch(() => null);
  if (resp.ok) return data;
  const code = data?.error?.code || "error";
  const message = data?.error?.message || `The request failed (HTTP ${resp.status}).`;
  if (resp.status === 401 && session) {
    end("Your session has expired or was ended elsewhere. Please log in again.");
    const err = new ApiError(401, code, message);
    err.sessionEnded = true;
    throw err;
  }
  throw new ApiError(resp.status, code, message);
}

export async function login(email, password) {
  const out = await request("POST", "/api/users/login", { email, password });
  session = { token: out.token, email: out.email, expiresAt: out.expiresAt };
  try {
    const me = await request("GET", "/api/users/me");
    session.role = me.role;
    session.userId = me.userId;
  } catch (err) {
    session = null;
    throw err;
  }
  const left = new Date(out.expiresAt).getTime() - Date.now();
  clearTimeout(expiryTimer);
  expiryTimer = setTimeout(() => end("Your session has expired. Please log in again."), Math.max(left, 0));
  return current();
}

export async function logout() {
  try {
    await request("POST", "/api/users/logout");
  } finally {
    end("You are logged out.");
  }
}

export const register = (email, password) => request("POST", "/api/users/register", { email, password });

const qs = (params) => {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") q.set(k, v);
  const s = q.toString();
  return s ? `?${s}` : "";
};

export const books = (p) => request("GET", `/api/books${qs(p)}`);
export const book = (id) => request("GET", `/api/books/${encodeURIComponent(id)}`);
export const addBook = (b) => request("POST", "/api/books", b);
export const updateBook = (id, patch) => request("PATCH", `/api/books/${encodeURIComponent(id)}`, patch);
export const balance = () => request("GET", "/api/tokens/balance");
export const history = (p) => request("GET", `/api/tokens/history${qs(p)}`);
export const topUp = (amount, key) => request("POST", "/api/tokens/add", { amount }, { "Idempotency-Key": key });
export const placeOrder = (bookIds, key) => request("POST", "/api/orders", { bookIds }, { "Idempotency-Key": key });
export const orders = (p) => request("GET", `/api/orders${qs(p)}`);
// order asks for one order; wait is passed for the long-poll (the order service answers
// when the order changes or the wait ends; a service without it answers at once).
export const order = (id, wait) => request("GET", `/api/orders/${encodeURIComponent(id)}${qs({ wait })}`);

export function newKey() {
  return crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random().toString(16).slice(2)}`;
}

// watchOrder calls onChange(order) until the order leaves Pending: long-poll where the API
// offers it, else polling with backoff (0.3 s doubling to 3 s). Returns the final order.
export async function watchOrder(id, onChange, signal) {
  let delay = 300;
  let last = "";
  for (;;) {
    if (signal?.aborted) return null;
    const started = Date.now();
    const o = await order(id, "20s");
    const seen = `${o.status}|${o.updatedAt}`;
    if (seen !== last) { last = seen; onChange(o); }
    if (o.status !== "Pending") return o;
    if (Date.now() - started < 250) { // answered at once: no long-poll, so back off
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 3000);
    }
  }
}
