// The qa web page: ask, read the answer with its citations, open each cited passage in its
// file. Every text from the service goes into the page as text (textContent), never as HTML.

const KEY_STORAGE = "qa.apiKey";
const SESSION_STORAGE = "qa.session";
const CONTEXT_LINES = 3;

const $ = (id) => document.getElementById(id);

// --- Small DOM helpers ------------------------------------------------------------------------

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === false || value === null || value === undefined) continue;
    if (name === "class") node.className = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function label(citation) {
  const lines =
    citation.start_line === citation.end_line
      ? `${citation.start_line}`
      : `${citation.start_line}-${citation.end_line}`;
  return `${citation.source}:${lines}`;
}

function fileUrl(source, start, end) {
  const path = source.split("/").map(encodeURIComponent).join("/");
  const anchor = start ? (end && end !== start ? `#L${start}-L${end}` : `#L${start}`) : "";
  return `/files/${path}${anchor}`;
}

// --- Calls to the service -------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, body) {
    const error = (body && body.error) || {};
    super(error.message || `The service answered HTTP ${status}.`);
    this.status = status;
    this.code = error.code || "http_error";
    this.hint = error.hint || "";
  }
}

function headers(json) {
  const result = {};
  const key = sessionStorage.getItem(KEY_STORAGE);
  if (key) result.Authorization = `Bearer ${key}`;
  if (json) result["Content-Type"] = "application/json";
  return result;
}

async function errorOf(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  return new ApiError(response.status, body);
}

// A call that asks for the API key on 401 and tries again once it is given.
async function call(path, options = {}) {
  for (;;) {
    let response;
    try {
      response = await fetch(path, { ...options, headers: headers(Boolean(options.body)) });
    } catch {
      throw new ApiError(0, {
        error: {
          message: "The service could not be reached.",
          hint: "Check that qa serve is running, then try again.",
        },
      });
    }
    if (response.status !== 401) return response;
    const wrong = Boolean(sessionStorage.getItem(KEY_STORAGE));
    sessionStorage.removeItem(KEY_STORAGE);
    if (!(await askForKey(wrong))) throw await errorOf(response);
  }
}

async function getJson(path) {
  const response = await call(path);
  if (!response.ok) throw await errorOf(response);
  return response.json();
}

function askForKey(wrong) {
  const dialog = $("key-dialog");
  $("key-message").textContent = wrong
    ? "That key was not accepted. Enter the key in QA_API_KEY."
    : "Enter the API key (QA_API_KEY) to use it.";
  $("api-key").value = "";
  return new Promise((resolve) => {
    const done = () => {
      dialog.removeEventListener("close", done);
      const key = $("api-key").value.trim();
      if (dialog.returnValue !== "cancel" && key) {
        sessionStorage.setItem(KEY_STORAGE, key);
        resolve(true);
      } else {
        resolve(false);
      }
    };
    dialog.returnValue = "";
    dialog.addEventListener("close", done);
    dialog.addEventListener("cancel", () => (dialog.returnValue = "cancel"), { once: true });
    dialog.showModal();
  });
}

function errorBox(error) {
  const box = el("div", { class: "error", role: "alert" }, el("p", { class: "error-message" }, error.message));
  if (error.hint) box.append(el("p", { class: "hint" }, error.hint));
  return box;
}

// --- Sources: the indexed files, fetched once per file --------------------------------------

const files = new Map();

function fileLines(source) {
  if (!files.has(source)) {
    const path = source.split("/").map(encodeURIComponent).join("/");
    const loading = getJson(`/sources/${path}`);
    loading.catch(() => files.delete(source)); // an error is not kept: the next click tries again
    files.set(source, loading);
  }
  return files.get(source);
}

function lineRows(lines, first, cited) {
  const rows = el("div", { class: "lines", role: "list" });
  lines.forEach((text, index) => {
    const number = first + index;
    const highlighted = cited && number >= cited[0] && number <= cited[1];
    rows.append(
      el(
        "div",
        { class: highlighted ? "line cited" : "line", id: `L${number}`, role: "listitem" },
        el("a", { class: "number", href: `#L${number}`, "aria-label": `Line ${number}` }, number),
        el("span", { class: "text" }, text === "" ? "\u200b" : text),
      ),
    );
  });
  return rows;
}

// --- Ask ------------------------------------------------------------------------------------

let current = 0; // the latest question; an older answer arriving late is dropped

function mode() {
  const chosen = document.querySelector('input[name="mode"]:checked');
  return $("mode").hidden || !chosen ? "extractive" : chosen.value;
}

async function ask(question, push) {
  const asked = ++current;
  if (push) history.pushState({}, "", `/?q=${encodeURIComponent(question)}`);
  document.title = `${question} - qa`;
  const answer = $("answer");
  const passage = $("passage");
  passage.hidden = true;
  passage.replaceChildren();
  answer.setAttribute("aria-busy", "true");
  delete answer.dataset.state; // set again when this question's answer is on screen
  answer.replaceChildren(el("p", { class: "pending" }, "Reading the sources…"));
  const started = performance.now();
  const body = JSON.stringify({ question, mode: mode() });
  try {
    let result;
    if (mode() === "generative") {
      result = await streamAnswer(body, (draft) => {
        if (asked === current) showDraft(draft);
      });
    } else {
      const response = await call("/ask", { method: "POST", body });
      if (!response.ok) throw await errorOf(response);
      result = await response.json();
    }
    if (asked !== current) return;
    showAnswer(result, performance.now() - started);
  } catch (error) {
    if (asked !== current) return;
    answer.replaceChildren(errorBox(error));
    answer.dataset.state = "error";
  } finally {
    if (asked === current) answer.setAttribute("aria-busy", "false");
  }
}

// POST /ask/stream: `delta` events are the LLM's draft; the `answer` event replaces it.
async function streamAnswer(body, onDraft) {
  const response = await call("/ask/stream", { method: "POST", body });
  if (!response.ok) throw await errorOf(response);
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  let draft = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let name = "message";
      let data = "";
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) name = line.slice(6).trim();
        else if (line.startsWith("data:")) data += line.slice(5).trim();
      }
      const payload = data ? JSON.parse(data) : {};
      if (name === "delta") {
        draft += payload.text || "";
        onDraft(draft);
      } else if (name === "answer") {
        return payload;
      } else if (name === "error") {
        throw new ApiError(200, payload);
      }
    }
  }
  throw new ApiError(0, {
    error: { message: "The answer stream ended early.", hint: "Ask again." },
  });
}

function showDraft(text) {
  $("answer").replaceChildren(
    el("p", { class: "draft", "aria-label": "Draft, being checked" }, text),
    el("p", { class: "small" }, "Draft: checking each sentence against the sources…"),
  );
}

function answerText(result) {
  // "[n]" markers become buttons that open citation n.
  const paragraph = el("p", { class: result.answered ? "answer-text" : "answer-text refusal" });
  const ids = new Set(result.citations.map((c) => c.id));
  let last = 0;
  for (const match of result.answer.matchAll(/\[(\d+)\]/g)) {
    const id = Number(match[1]);
    if (!ids.has(id)) continue;
    paragraph.append(result.answer.slice(last, match.index));
    paragraph.append(
      el(
        "button",
        {
          type: "button",
          class: "marker",
          "aria-label": `Show citation ${id}`,
          onclick: () => openCitation(result.citations.find((c) => c.id === id)),
        },
        `[${id}]`,
      ),
    );
    last = match.index + match[0].length;
  }
  paragraph.append(result.answer.slice(last));
  return paragraph;
}

function showAnswer(result, elapsedMs) {
  const parts = [answerText(result)];
  if (result.mode === "extractive-fallback") {
    parts.push(
      el("p", { class: "badge" }, "Extractive fallback: the LLM did not answer, so this is quoted from the sources."),
    );
  }
  if (result.citations.length) {
    const heading = result.answered ? "Sources" : "Closest passages (not an answer)";
    const list = el("ol", { class: result.answered ? "citations" : "citations closest" });
    for (const citation of result.citations) {
      list.append(
        el(
          "li",
          { value: citation.id },
          el(
            "button",
            { type: "button", class: "cite", onclick: () => openCitation(citation) },
            label(citation),
          ),
          el("blockquote", {}, citation.quote),
        ),
      );
    }
    parts.push(el("h2", {}, heading), list);
  }
  const server = result.timings_ms ? Math.round(result.timings_ms.total) : null;
  parts.push(
    el(
      "p",
      { class: "timing small" },
      `Answered in ${Math.round(elapsedMs)} ms` + (server === null ? "" : ` (${server} ms in the service)`),
    ),
    feedbackButtons(result),
  );
  const answer = $("answer");
  answer.replaceChildren(...parts);
  answer.dataset.state = result.answered ? "answered" : "refused";
}

function feedbackButtons(result) {
  let answerId = null;
  const status = el("span", { class: "small", role: "status" });
  const vote = async (helpful, button) => {
    try {
      const response = await call("/feedback", {
        method: "POST",
        body: JSON.stringify(
          answerId ? { answer_id: answerId, helpful, session: session() } : { answer: result, helpful, session: session() },
        ),
      });
      if (!response.ok) throw await errorOf(response);
      answerId = (await response.json()).answer_id;
      for (const other of box.querySelectorAll("button")) other.setAttribute("aria-pressed", String(other === button));
      status.textContent = "Thanks for the feedback.";
    } catch (error) {
      status.textContent = error.message;
    }
  };
  const helpful = el("button", { type: "button", "aria-pressed": "false", onclick: () => vote(true, helpful) }, "Helpful");
  const unhelpful = el("button", { type: "button", "aria-pressed": "false", onclick: () => vote(false, unhelpful) }, "Not helpful");
  const box = el("div", { class: "feedback", role: "group", "aria-label": "Was this answer helpful?" }, helpful, unhelpful, status);
  return box;
}

function session() {
  let id = sessionStorage.getItem(SESSION_STORAGE);
  if (!id) {
    id = Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
    sessionStorage.setItem(SESSION_STORAGE, id);
  }
  return id;
}

async function openCitation(citation) {
  const passage = $("passage");
  passage.hidden = false;
  passage.replaceChildren(el("p", { class: "pending" }, `Opening ${label(citation)}…`));
  try {
    const file = await fileLines(citation.source);
    const first = Math.max(1, citation.start_line - CONTEXT_LINES);
    const last = Math.min(file.line_count, citation.end_line + CONTEXT_LINES);
    passage.replaceChildren(
      el(
        "header",
        { class: "passage-head" },
        el("h2", {}, `[${citation.id}] ${label(citation)}`),
        el("a", { href: fileUrl(citation.source, citation.start_line, citation.end_line) }, "Open the whole file"),
      ),
      lineRows(file.lines.slice(first - 1, last), first, [citation.start_line, citation.end_line]),
    );
  } catch (error) {
    passage.replaceChildren(errorBox(error));
  }
  passage.scrollIntoView({ block: "nearest" });
  passage.focus({ preventScroll: true });
}

// --- Sources views --------------------------------------------------------------------------

async function showFiles() {
  const target = $("files");
  target.replaceChildren(el("p", { class: "pending" }, "Loading…"));
  try {
    const { sources } = await getJson("/sources");
    if (!sources.length) {
      target.replaceChildren(el("p", {}, "Nothing is indexed yet: run qa ingest."));
      return;
    }
    const rows = sources.map((s) =>
      el("tr", {}, el("td", {}, el("a", { href: fileUrl(s.source) }, s.source)), el("td", { class: "count" }, s.line_count)),
    );
    target.replaceChildren(
      el("table", {}, el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "File"), el("th", { scope: "col", class: "count" }, "Lines"))), el("tbody", {}, ...rows)),
    );
  } catch (error) {
    target.replaceChildren(errorBox(error));
  }
}

function hashRange() {
  const match = /^#L(\d+)(?:-L(\d+))?$/.exec(location.hash);
  if (!match) return null;
  const start = Number(match[1]);
  return [start, Math.max(start, Number(match[2] || start))];
}

async function showFile(source) {
  $("file-name").textContent = source;
  document.title = `${source} - qa`;
  const target = $("file");
  target.replaceChildren(el("p", { class: "pending" }, "Loading…"));
  try {
    const file = await fileLines(source);
    const range = hashRange();
    target.replaceChildren(lineRows(file.lines, 1, range));
    if (range) $(`L${range[0]}`)?.scrollIntoView({ block: "center" });
  } catch (error) {
    target.replaceChildren(errorBox(error));
  }
}

// --- Start ----------------------------------------------------------------------------------

async function offerModes() {
  try {
    const { data } = await getJson("/v1/models");
    $("mode").hidden = !data.some((m) => m.id === "qa-generative");
  } catch {
    $("mode").hidden = true;
  }
}

function route() {
  const path = location.pathname;
  const view = path === "/" ? "ask" : path === "/files" || path === "/files/" ? "files" : "file";
  $("ask-view").hidden = view !== "ask";
  $("files-view").hidden = view !== "files";
  $("file-view").hidden = view !== "file";
  for (const link of document.querySelectorAll("[data-nav]")) {
    if (link.dataset.nav === (view === "file" ? "files" : view)) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  if (view === "files") return showFiles();
  if (view === "file") return showFile(decodeURIComponent(path.slice("/files/".length)));
  const question = new URLSearchParams(location.search).get("q");
  $("question").value = question || "";
  if (question && question.trim()) return ask(question, false);
  $("answer").replaceChildren();
  $("passage").hidden = true;
  document.title = "qa: ask your documents";
  return undefined;
}

$("ask-form").addEventListener("submit", (event) => {
  event.preventDefault();
  ask($("question").value, true);
});
window.addEventListener("popstate", route);
window.addEventListener("hashchange", () => {
  if (location.pathname.startsWith("/files/")) route();
});
await offerModes();
route();
document.body.dataset.ready = "true";
