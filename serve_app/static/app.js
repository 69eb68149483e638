// livecomments web page: watch a video's comments live, log in, post, moderate.
// Plain JavaScript, no build step. User text only ever goes through textContent.
"use strict";

const $ = (id) => document.getElementById(id);
const state = {
  video: null,
  source: null,
  lastEventId: null,
  oldestCursor: null,
  session: JSON.parse(sessionStorage.getItem("livecomments-session") || "null"),
};

function say(text, ok = false) {
  $("message").textContent = text;
  $("message").className = ok ? "ok" : "";
}

async function api(method, path, body) {
  const headers = {};
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (state.session) headers["Authorization"] = `Bearer ${state.session.token}`;
  const response = await fetch(path, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = new Error(explain(response, data));
    error.status = response.status;
    throw error;
  }
  return data;
}

function explain(response, data) {
  const message = data.message || response.statusText;
  switch (response.status) {
    case 400: return `Not accepted: ${message}`;
    case 401:
      if (state.session) logout();
      return `Please log in again (${message}).`;
    case 403: return `Not allowed: ${message}`;
    case 404: return "That comment is gone.";
    case 409: return message;
    case 429: {
      const wait = response.headers.get("Retry-After");
      return `Slow down: ${message}${wait ? ` (try again in ${wait} s)` : ""}`;
    }
    default: return `The service had a problem (${response.status}); try again.`;
  }
}

// --- session ---------------------------------------------------------------

function showSession() {
  const session = state.session;
  $("whoami").textContent = session ? `Logged in as ${session.username}` +
    (session.role === "admin" ? " (admin)" : "") : "Not logged in.";
  $("auth-form").hidden = Boolean(session);
  $("logout").hidden = !session;
  $("post-form").hidden = !session;
  $("admin").hidden = !(session && session.role === "admin");
  for (const item of $("comments").children) decorate(item);
}

async function login(username, password) {
  const data = await api("POST", "/api/auth/login", { username, password });
  state.session = { token: data.token, userId: data.userId, role: data.role, username };
  sessionStorage.setItem("livecomments-session", JSON.stringify(state.session));
  showSession();
  say(`Welcome, ${username}.`, true);
}

function logout() {
  state.session = null;
  sessionStorage.removeItem("livecomments-session");
  showSession();
}

// --- comments --------------------------------------------------------------

function commentItem(comment) {
  const item = document.createElement("li");
  item.dataset.commentId = comment.commentId;
  item.dataset.userId = comment.userId;
  item.dataset.seq = comment.seq;
  const who = document.createElement("span");
  who.className = "who";
  who.textContent = comment.username;
  const when = document.createElement("span");
  when.className = "when";
  const text = document.createElement("div");
  text.className = "text";
  const tools = document.createElement("div");
  tools.className = "tools";
  item.append(who, when, text, tools);
  update(item, comment);
  decorate(item);
  return item;
}

function update(item, comment) {
  item.querySelector(".text").textContent = comment.comment;
  const edited = comment.editedAt ? " (edited)" : "";
  item.querySelector(".when").textContent =
    new Date(comment.timestamp).toLocaleTimeString() + edited;
}

function decorate(item) {
  const tools = item.querySelector(".tools");
  tools.replaceChildren();
  const session = state.session;
  if (!session) return;
  const mine = session.userId === item.dataset.userId;
  const admin = session.role === "admin";
  const button = (label, action) => {
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = label;
    b.className = label.toLowerCase();
    b.addEventListener("click", action);
    tools.append(b);
  };
  if (mine || admin) {
    button("Edit", () => editComment(item));
    button("Delete", () => deleteComment(item));
  }
  if (admin && !mine) {
    button("Ban", () => {
      $("ban-user").value = item.dataset.userId;
      $("ban-reason").focus();
    });
  }
  if (!mine) button("Report", () => reportComment(item));
}

function place(comment) {
  const list = $("comments");
  const existing = list.querySelector(`[data-comment-id="${CSS.escape(comment.commentId)}"]`);
  if (existing) return update(existing, comment);
  const item = commentItem(comment);
  const after = [...list.children].find((li) => Number(li.dataset.seq) < comment.seq);
  list.insertBefore(item, after || null);
}

function removeComment(commentId) {
  const item = $("comments").querySelector(`[data-comment-id="${CSS.escape(commentId)}"]`);
  if (item) item.remove();
}

async function editComment(item) {
  const text = item.querySelector(".text");
  const field = document.createElement("textarea");
  field.value = text.textContent;
  field.maxLength = 2000;
  const save = document.createElement("button");
  save.type = "button";
  save.textContent = "Save";
  text.replaceChildren(field, save);
  field.focus();
  save.addEventListener("click", async () => {
    try {
      const updated = await api("PATCH", `/api/comments/${encodeURIComponent(item.dataset.commentId)}`,
                                { comment: field.value });
      update(item, updated);
      say("Comment updated.", true);
    } catch (error) {
      say(error.message);
    }
  });
}

async function deleteComment(item) {
  try {
    await api("DELETE", `/api/comments/${encodeURIComponent(item.dataset.commentId)}`);
    item.remove();
    say("Comment deleted.", true);
  } catch (error) {
    say(error.message);
  }
}

async function reportComment(item) {
  try {
    await api("POST", `/api/comments/${encodeURIComponent(item.dataset.commentId)}/report`,
              { reason: "reported from the web page" });
    say("Thank you: an admin will look at it.", true);
  } catch (error) {
    say(error.message);
  }
}

// --- watching --------------------------------------------------------------

function watch(video) {
  if (state.source) state.source.close();
  state.video = video;
  state.lastEventId = null;
  $("comments").replaceChildren();
  $("viewers").textContent = "";
  location.hash = `video=${encodeURIComponent(video)}`;
  connect("backlog=20");
  loadOlder(true);
}

function connect(query) {
  const url = `/api/posts/${encodeURIComponent(state.video)}/comments/stream?${query}`;
  const source = new EventSource(url);
  state.source = source;
  $("status").textContent = `connecting to ${state.video}…`;
  source.onopen = () => { $("status").textContent = `watching ${state.video} live`; };
  // EventSource reconnects by itself after a drop, sending Last-Event-ID.
  source.onerror = () => { $("status").textContent = "reconnecting…"; };
  const track = (event) => { if (event.lastEventId) state.lastEventId = event.lastEventId; };
  source.addEventListener("comment", (event) => { track(event); place(JSON.parse(event.data)); });
  source.addEventListener("comment_edited", (event) => {
    track(event);
    place(JSON.parse(event.data));
  });
  source.addEventListener("comment_deleted", (event) => {
    track(event);
    removeComment(JSON.parse(event.data).commentId);
  });
  source.addEventListener("comment_hidden", track);
  source.addEventListener("viewers", (event) => {
    const count = JSON.parse(event.data).count;
    $("viewers").textContent = `${count} watching`;
  });
  source.addEventListener("resync", (event) => {
    source.close();
    const last = JSON.parse(event.data).lastEventId;
    connect(`lastEventId=${encodeURIComponent(last)}`);
  });
}

async function loadOlder(first = false) {
  const cursor = first ? "" : `&cursor=${encodeURIComponent(state.oldestCursor)}`;
  try {
    const page = await api("GET",
      `/api/posts/${encodeURIComponent(state.video)}/comments?pagesize=20${cursor}`);
    page.comments.forEach(place);
    state.oldestCursor = page.nextCursor;
    $("older").hidden = !page.nextCursor;
  } catch (error) {
    say(error.message);
  }
}

// --- wiring ----------------------------------------------------------------

function wire() {
  $("watch-form").addEventListener("submit", (event) => {
    event.preventDefault();
    watch($("video-id").value.trim());
  });
  $("older").addEventListener("click", () => loadOlder());
  $("auth-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await login($("username").value, $("password").value);
    } catch (error) {
      say(error.status === 401 ? "Wrong username or password." : error.message);
    }
  });
  $("register").addEventListener("click", async () => {
    const username = $("username").value;
    const password = $("password").value;
    try {
      await api("POST", "/api/auth/register", { username, password });
      await login(username, password);
    } catch (error) {
      say(error.message);
    }
  });
  $("logout").addEventListener("click", logout);
  $("post-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!state.video) return say("Pick a video first.");
    try {
      const posted = await api("POST",
        `/api/posts/${encodeURIComponent(state.video)}/comments`,
        { comment: $("comment-text").value });
      $("comment-text").value = "";
      say(posted.held ? "Your comment is held for review." : "Posted.", true);
    } catch (error) {
      say(error.message);
    }
  });
  $("ban-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const duration = $("ban-duration").value;
    try {
      const result = await api("POST", `/api/admin/users/${encodeURIComponent($("ban-user").value)}/ban`, {
        reason: $("ban-reason").value,
        removeRecentComments: $("ban-remove").checked,
        ...(duration ? { durationSeconds: Number(duration) } : {}),
      });
      say(`Banned; ${result.removedComments} recent comments removed.`, true);
    } catch (error) {
      say(error.message);
    }
  });
  $("unban").addEventListener("click", async () => {
    try {
      await api("DELETE", `/api/admin/users/${encodeURIComponent($("ban-user").value)}/ban`);
      say("Ban lifted.", true);
    } catch (error) {
      say(error.message);
    }
  });
  showSession();
  const fromHash = new URLSearchParams(location.hash.slice(1)).get("video");
  if (fromHash) {
    $("video-id").value = fromHash;
    watch(fromHash);
  }
}

wire();
