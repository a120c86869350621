// aioscheduler dashboard: filters, guarded actions and live updates. Plain JavaScript, no
// build step. Every text from the server is either server-escaped HTML of our own origin or
// set with textContent.
(function () {
  "use strict";

  const meta = (name) => document.querySelector('meta[name="' + name + '"]').content;
  const base = meta("dashboard-base");
  const csrf = meta("csrf-token");
  const table = document.getElementById("jobs");
  const tbody = table ? table.tBodies[0] : null;
  const jobLive = document.getElementById("job-live");
  const search = document.getElementById("search");
  const stateFilter = document.getElementById("state-filter");
  const status = document.getElementById("live");

  // -- times in the viewer's zone ----------------------------------------------------------
  const fmt = new Intl.DateTimeFormat(undefined, {
    year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", second: "2-digit", timeZoneName: "short",
  });
  function localTimes(root) {
    root.querySelectorAll("time.local").forEach((el) => {
      const when = new Date(el.getAttribute("datetime"));
      if (!isNaN(when)) el.textContent = fmt.format(when);
    });
  }

  // -- filters (never touched by live updates: they only read them) ------------------------
  function applyFilters() {
    if (!tbody) return;
    const words = (search.value || "").toLowerCase().trim();
    const state = stateFilter.value;
    let shown = 0;
    for (const tr of tbody.rows) {
      const ok = (state === "all" || tr.dataset.state === state) &&
        (!words || (tr.dataset.search || "").includes(words));
      tr.hidden = !ok;
      if (ok) shown += 1;
    }
    document.getElementById("count").textContent = shown === tbody.rows.length
      ? String(shown) : shown + " of " + tbody.rows.length;
    document.getElementById("empty").hidden = shown !== 0;
  }
  if (tbody) {
    search.addEventListener("input", applyFilters);
    stateFilter.addEventListener("change", applyFilters);
    document.querySelector("form.filters").addEventListener("submit", (e) => e.preventDefault());
  }

  // -- actions ------------------------------------------------------------------------------
  async function send(form, action, jobId, confirmed) {
    const body = new URLSearchParams({ job_id: jobId, action: action });
    if (confirmed) body.set("confirmed", "yes");
    let answer;
    try {
      const response = await fetch(base + "action", {
        method: "POST",
        credentials: "same-origin",
        headers: {
          "Content-Type": "application/x-www-form-urlencoded",
          "X-CSRF-Token": csrf,
          "X-Requested-With": "aioscheduler-dashboard",
        },
        body: body,
      });
      answer = await response.json();
    } catch (err) {
      answer = { ok: false, error: String(err) };
    }
    if (!answer.ok) {
      let msg = form.querySelector(".error-msg");
      if (!msg) {
        msg = document.createElement("span");
        msg.className = "error-msg";
        form.appendChild(msg);
      }
      msg.textContent = answer.error || "failed";
      return;
    }
    if (action === "remove" && jobLive) {
      window.location.href = base;
      return;
    }
    want([jobId]);
  }

  function askToRemove(form, jobId) {
    if (form.querySelector(".confirm-box")) return;
    const box = document.createElement("span");
    box.className = "confirm-box";
    const question = document.createElement("strong");
    question.textContent = "Remove " + jobId + "?";
    const yes = document.createElement("button");
    yes.type = "button";
    yes.className = "danger";
    yes.textContent = "Confirm";
    const no = document.createElement("button");
    no.type = "button";
    no.textContent = "Cancel";
    yes.addEventListener("click", () => { box.remove(); send(form, "remove", jobId, true); });
    no.addEventListener("click", () => { box.remove(); want([jobId]); });
    box.append(question, yes, no);
    form.appendChild(box);
  }

  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (!form.classList || !form.classList.contains("actions")) return;
    event.preventDefault();
    const button = event.submitter;
    if (!button) return;
    const jobId = form.elements.job_id.value;
    if (button.value === "remove") askToRemove(form, jobId);
    else send(form, button.value, jobId, false);
  });

  // -- live updates -------------------------------------------------------------------------
  const pending = new Set();
  let everything = false;
  let timer = null;
  let busy = false;

  function want(ids, all) {
    ids.forEach((id) => pending.add(id));
    if (all) everything = true;
    if (!timer) timer = setTimeout(flush, 100);
  }

  function parseRows(html) {
    const tpl = document.createElement("template");
    tpl.innerHTML = html;
    return Array.from(tpl.content.querySelectorAll("tr[data-job-id]"));
  }

  function patchRow(old, fresh) {
    // An open confirmation stays: only the other cells change.
    const keep = old.querySelector("td.act");
    if (keep && keep.querySelector(".confirm-box")) {
      fresh.querySelector("td.act").replaceWith(keep);
    }
    old.replaceWith(fresh);
  }

  async function refreshRows(ids, all) {
    const query = all ? "" : "?" + ids.map((id) => "id=" + encodeURIComponent(id)).join("&");
    const response = await fetch(base + "rows" + query, { credentials: "same-origin" });
    if (!response.ok) throw new Error("rows: " + response.status);
    const fresh = parseRows(await response.text());
    const current = new Map();
    for (const tr of tbody.rows) current.set(tr.dataset.jobId, tr);
    const seen = new Set();
    for (const tr of fresh) {
      const id = tr.dataset.jobId;
      seen.add(id);
      const old = current.get(id);
      if (old && old.dataset.v === tr.dataset.v) continue;  // unchanged
      if (old) patchRow(old, tr);
      else tbody.appendChild(tr);
      localTimes(tr);
    }
    const gone = all ? Array.from(current.keys()) : ids;
    for (const id of gone) {
      if (!seen.has(id) && current.has(id)) current.get(id).remove();
    }
    if (all) {  // the server's order (by next run)
      const order = new Map(fresh.map((tr, i) => [tr.dataset.jobId, i]));
      const rows = Array.from(tbody.rows);
      rows.sort((a, b) => (order.get(a.dataset.jobId) ?? 1e9) - (order.get(b.dataset.jobId) ?? 1e9));
      const sorted = rows.every((tr, i) => tr === tbody.rows[i]);
      if (!sorted) rows.forEach((tr) => tbody.appendChild(tr));
    }
    applyFilters();
  }

  async function refreshJob() {
    const id = jobLive.dataset.jobId;
    const url = base + "jobs/" + encodeURIComponent(id) + "?fragment=live";
    const response = await fetch(url, { credentials: "same-origin" });
    if (response.status === 404) {
      jobLive.textContent = "This job was removed.";
      return;
    }
    if (!response.ok) throw new Error("job: " + response.status);
    const tpl = document.createElement("template");
    tpl.innerHTML = await response.text();
    const keep = jobLive.querySelector(".job-actions");
    const fresh = tpl.content.querySelector(".job-actions");
    if (keep && fresh && keep.querySelector(".confirm-box")) fresh.replaceWith(keep);
    jobLive.replaceChildren(tpl.content);
    localTimes(jobLive);
  }

  async function flush() {
    timer = null;
    if (busy) { timer = setTimeout(flush, 100); return; }
    const all = everything;
    const ids = Array.from(pending);
    pending.clear();
    everything = false;
    if (!all && !ids.length) return;
    busy = true;
    try {
      if (tbody) await refreshRows(ids, all || ids.length > 50);
      if (jobLive && (all || ids.includes(jobLive.dataset.jobId))) await refreshJob();
    } catch (err) {
      everything = true;  // try again on the next message
    } finally {
      busy = false;
    }
  }

  function noteFailures(failures) {
    const box = document.getElementById("failures");
    if (!box || !failures.length) return;
    const list = box.querySelector("ul");
    for (const f of failures) {
      const li = document.createElement("li");
      const a = document.createElement("a");
      a.href = base + "jobs/" + encodeURIComponent(f.job);
      a.textContent = f.job;
      const text = document.createElement("span");
      text.textContent = " " + f.error;
      li.append(a, text);
      list.prepend(li);
    }
    while (list.children.length > 10) list.lastChild.remove();
    box.hidden = false;
  }

  function connect() {
    const source = new EventSource(base + "events");
    source.addEventListener("hello", () => {
      status.textContent = "live";
      status.className = "live on";
      want([], true);  // (re)connected: whatever happened meanwhile is re-read
    });
    source.addEventListener("update", (event) => {
      const data = JSON.parse(event.data);
      noteFailures(data.failures || []);
      want(data.jobs || [], !!data.resync);
    });
    source.addEventListener("error", () => {
      status.textContent = "reconnecting";
      status.className = "live off";
    });
    window.aioschedulerLive = source;  // for tests and the curious
  }

  localTimes(document);
  if (tbody) applyFilters();
  if (tbody || jobLive) connect();
  else status.hidden = true;  // a page without live parts (the timeline)
})();
