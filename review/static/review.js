// hybrid review — the page's behaviour, in plain JavaScript (no libraries, no external assets).
// Data comes from /api/…; every change is a POST carrying the CSRF token and the item version seen.
"use strict";
(() => {
  const boot = JSON.parse(document.getElementById("boot").textContent);
  const T = boot.strings;
  const SVGNS = "http://www.w3.org/2000/svg";
  const state = {
    queue: null, order: [], index: -1, detail: null, showDecided: false,
    mode: null, buffer: "", marks: null, invalidQs: null, lookup: null, busy: false,
    warning: null, loading: 0, zoom: false,
  };

  // -- small helpers ------------------------------------------------------------------------
  function t(key, vars) {
    let s = T[key] !== undefined ? T[key] : key;
    if (vars) for (const [k, v] of Object.entries(vars)) s = s.split("{" + k + "}").join(v);
    return s;
  }
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") node.className = v;
      else if (k === "text") node.textContent = v;
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else if (k === "data") for (const [dk, dv] of Object.entries(v)) node.dataset[dk] = dv;
      else if (v === true) node.setAttribute(k, "");
      else node.setAttribute(k, v);
    }
    for (const c of children.flat()) if (c !== null && c !== undefined && c !== false)
      node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    return node;
  }
  function svg(tag, attrs, ...children) {
    const node = document.createElementNS(SVGNS, tag);
    for (const [k, v] of Object.entries(attrs || {})) if (v !== null && v !== undefined) node.setAttribute(k, v);
    for (const c of children.flat()) if (c !== null && c !== undefined)
      node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    return node;
  }
  function txt(map) {
    if (!map) return "";
    return map[boot.lang] || Object.values(map)[0] || "";
  }
  function when(iso) {
    if (!iso) return "";
    const d = new Date(iso);
    if (isNaN(d)) return iso;
    return d.toLocaleString(boot.lang === "de" ? "de-DE" : "en-GB", { dateStyle: "short", timeStyle: "short" });
  }
  function reasonLabel(r) { return T["r_" + r] || T["g_" + r] || r.split("_").join(" "); }
  function groupLabel(g) { return T["g_" + g] || reasonLabel(g); }
  function shownId() { return decodeURIComponent(location.hash.slice(1)); }
  function actLabel(a) { return T["act_" + a] || a; }
  function kbd(k) { return el("kbd", { text: k }); }

  async function api(method, url, body) {
    const opts = { method, headers: { Accept: "application/json" }, credentials: "same-origin" };
    if (body !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.headers["X-CSRF-Token"] = boot.csrf;
      opts.body = JSON.stringify(body);
    }
    let res;
    try { res = await fetch(url, opts); } catch (e) { return { ok: false, status: 0, data: { message: String(e) } }; }
    let data = null;
    try { data = await res.json(); } catch (e) { data = null; }
    if (res.status === 401) showBanner(t("session_expired"));
    return { ok: res.ok, status: res.status, data: data || {} };
  }

  function showBanner(message) {
    const banner = document.getElementById("banner");
    banner.textContent = message;
    banner.hidden = false;
  }
  function hideBanner() { document.getElementById("banner").hidden = true; }
  let toastTimer = null;
  function toast(message) {
    const box = document.getElementById("toast");
    box.textContent = message;
    box.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { box.hidden = true; }, 2500);
  }

  // -- the queue ----------------------------------------------------------------------------
  async function loadQueue() {
    const res = await api("GET", "/api/queue" + (state.showDecided ? "?all=1" : ""));
    if (!res.ok) return;
    state.queue = res.data;
    state.order = [];
    for (const g of res.data.groups) for (const it of g.items) state.order.push(it);
    const current = state.detail && state.detail.item.id;
    state.index = state.order.findIndex((it) => it.id === current);
    renderQueue();
  }

  function renderQueue() {
    const counts = state.queue.counts;
    const counter = document.getElementById("counter");
    counter.textContent = `${t("left")}: ${counts.open} · ${t("pending")}: ${counts.pending}`;
    counter.dataset.open = counts.open;
    counter.dataset.pending = counts.pending;
    const box = document.getElementById("queue");
    box.replaceChildren();
    if (!state.queue.groups.length) box.append(el("p", { class: "muted", text: t("nothing_left") }));
    const current = state.detail && state.detail.item.id;
    for (const g of state.queue.groups) {
      const list = el("ul");
      for (const it of g.items) {
        const label = it.serial !== null && it.serial !== undefined ? `Nr. ${it.serial}` : (it.kind === "page" ? t("no_serial") : "");
        list.append(el("li", {}, el("button", {
          type: "button", class: "qitem" + (it.id === current ? " current" : ""), data: { item: it.id },
          onclick: () => openItem(it.id),
        }, el("span", { class: "id", text: it.id }), el("span", { text: label }),
        el("span", { class: "badge " + it.status, text: it.status === "pending" ? t("pending_label") : (it.status === "open" ? t("open") : t("decided")) }))));
      }
      box.append(el("section", { class: "group", data: { group: g.group } },
        el("h2", {}, el("span", { text: groupLabel(g.group) }), el("span", { text: String(g.items.length) })), list));
    }
  }

  function move(step) {
    if (!state.order.length) return;
    let i = state.index;
    if (i < 0) i = step > 0 ? -1 : state.order.length;
    i = Math.min(Math.max(i + step, 0), state.order.length - 1);
    openItem(state.order[i].id);
  }

  function nextOpenAfter(id) {
    const ids = state.order.map((it) => it.id);
    const start = ids.indexOf(id);
    for (let k = 1; k <= state.order.length; k++) {
      const it = state.order[(Math.max(start, 0) + k) % state.order.length];
      if (it.id !== id && it.status === "open") return it.id;
    }
    return null;
  }

  // -- one item -----------------------------------------------------------------------------
  // The address (#r21) always names the item shown: a click or J/K adds a history entry,
  // Back/Forward and a pasted link open the item the address names, and a decision is
  // sent only for the item the address names (see send).
  async function openItem(id, keepBanner, fromAddress) {
    const ticket = ++state.loading;
    if (!fromAddress && shownId() !== id) history.pushState(null, "", "#" + encodeURIComponent(id));
    const res = await api("GET", "/api/items/" + encodeURIComponent(id));
    if (ticket !== state.loading) return;  // another item was asked for meanwhile
    if (!res.ok) { showBanner(res.data.message || t("error")); return; }
    if (!keepBanner) hideBanner();
    state.detail = res.data;
    state.mode = null; state.buffer = ""; state.lookup = null; state.invalidQs = null; state.warning = null;
    state.marks = startingMarks(res.data);
    state.index = state.order.findIndex((it) => it.id === id);
    renderItem();
    renderQueue();
    document.getElementById("item").focus({ preventScroll: true });
  }

  function onAddressChange() {
    const id = shownId();
    if (!id || (state.detail && state.detail.item.id === id)) return;
    state.detail = null;  // nothing can be decided until the named item is shown
    const main = document.getElementById("item");
    main.replaceChildren(el("p", { class: "muted", text: "…" }));
    openItem(id, false, true);
  }

  function startingMarks(detail) {
    const marks = {};
    for (const q of detail.questions) marks[q.id] = new Set();
    if (detail.record) for (const [q, opts] of Object.entries(detail.record.choices)) marks[q] = new Set(opts);
    return marks;
  }

  function optionByNumber(n) {
    for (const q of state.detail.questions) for (const o of q.options) if (o.number === n) return [q, o];
    return null;
  }

  function choicesText(choices) {
    const parts = [];
    for (const q of state.detail.questions) {
      const opts = (choices || {})[q.id];
      if (!opts || !opts.length) continue;
      const nums = q.options.filter((o) => opts.includes(o.id)).map((o) => "Nr. " + o.number);
      parts.push(`${q.id}: ${nums.join(", ")}`);
    }
    return parts.length ? parts.join(" · ") : t("none_chosen");
  }

  function renderItem() {
    const d = state.detail;
    const main = document.getElementById("item");
    main.replaceChildren();
    main.classList.toggle("mode", !!state.mode);
    const it = d.item;
    const title = it.kind === "record" ? `${t("ballot")} ${it.serial ?? "–"}` :
      it.kind === "page" ? t("unreadable_title") : t("comment_title");
    main.append(el("h2", { id: "item-title", data: { item: it.id } }, title, " ", el("span", { class: "muted", text: `(${it.id})` })));
    const meta = [];
    if (d.record) meta.push(`${t("channel_" + d.record.channel)} · ${t("received")} ${d.record.received_at || "–"} · ${t("status")}: ${t("rs_" + d.record.status)}`);
    if (d.pages.length && d.pages[0].file_name) meta.push(`${t("file")} ${d.pages[0].file_name}, ${t("page")} ${d.pages[0].page_no} · ${t("batch")} ${d.pages[0].batch}`);
    main.append(el("div", { class: "meta" }, meta.join(" — ")));
    const reasons = it.reasons.length ? it.reasons : [];
    if (reasons.length) main.append(el("div", { class: "chips" }, reasons.map((r) => el("span", { class: "chip", text: reasonLabel(r) }))));
    main.append(statusLine(d));
    main.append(actionBar(d));  // in the flow, above the paper: it never covers the questions
    if (state.mode) main.append(modeBar());
    const grid = el("div", { class: "grid" });
    const left = el("div");
    const right = el("div");
    grid.append(left, right);
    main.append(grid);
    if (it.kind === "record") {
      if (d.related.length) left.append(conflictCard(d));
      left.append(pagesCard(d));
      right.append(questionsCard(d, null));
      right.append(decisionCard(d));
    } else if (it.kind === "page") {
      left.append(pagesCard(d));
      right.append(identifyCard(d));
    } else {
      left.append(commentCard(d));
    }
    right.append(historyCard(d));
    drawZooms();
  }

  function statusLine(d) {
    const it = d.item;
    const dec = it.decision;
    let text = t(it.status === "pending" ? "pending" : it.status);
    let cls = "status-line " + it.status;
    if (dec && it.status === "pending") text = `${actLabel(dec.action)} ${t("by")} ${dec.reviewer} — ${t("awaiting_confirmation")}` + (it.mine_pending ? " · " + t("yours_pending") : "");
    else if (dec && it.status === "decided") text = `${t("decided")}: ${actLabel(dec.action)} ${t("by")} ${dec.reviewer}` + (dec.confirmed_by ? `, ${t("confirmed_by")} ${dec.confirmed_by}` : "");
    if (it.note === "reread") text += " — " + t("reread");
    if (it.note && it.note.startsWith("resolved_by:")) text = `${t("decided")}: ${t("resolved_by")} ${it.note.slice(12)}`;
    return el("p", { class: cls, id: "status-line", data: { status: it.status } }, text);
  }

  function modeBar() {
    const help = state.mode === "marks" ? t("marks_help") : t("questions_help");
    const extra = state.mode === "marks" && state.detail.item.kind === "record" ? " " + t("marks_need_confirmation") : "";
    const bar = el("div", { class: "modebar", id: "modebar" }, help + extra, el("span", { class: "buffer", id: "buffer", text: state.buffer ? "Nr. " + state.buffer + "_" : "" }));
    if (state.warning) bar.append(el("div", { class: "warning", id: "marks-warning", role: "alert" },
      state.warning.lines.map((line) => el("p", { text: line })), el("p", {}, el("strong", { text: t("warn_save_anyway") }))));
    return bar;
  }

  // -- pages: the crop with every box outlined and scored, or a drawing of the values read ---
  function pagesCard(d) {
    const card = el("div", { class: "card", id: "pages" });
    card.append(el("div", { class: "zooms", id: "zooms" }));  // the doubtful boxes first, large
    const present = new Set(d.pages.map((p) => p.ballot_page));
    const missing = (d.content_pages || []).filter((n) => !present.has(n));
    if (missing.length) card.append(el("p", { class: "notice", id: "missing-pages" },
      t("missing_pages", { pages: missing.join(", "), present: Array.from(present).filter((n) => n !== null).join(", ") || "–" })));
    // Two sheets of the same page (a photocopy, or the same sheet with other marks): side by side.
    const byPage = new Map();
    d.pages.forEach((p, index) => {
      const key = p.ballot_page === null || p.ballot_page === undefined ? "?" + index : String(p.ballot_page);
      if (!byPage.has(key)) byPage.set(key, []);
      byPage.get(key).push([p, index]);
    });
    for (const group of byPage.values()) {
      if (group.length > 1) {
        card.append(el("p", { class: "notice", text: t("side_by_side", { page: String(group[0][0].ballot_page) }) }),
          el("div", { class: "sidebyside sheets" }, group.map(([p, index]) => pageFigure(p, index))));
      } else {
        card.append(pageFigure(group[0][0], group[0][1]));
      }
    }
    return card;
  }

  function stateClass(b) { return b.state || "none"; }
  function worthLabel(b) { return b.doubtful || (b.state && b.state !== "empty") || (b.fill || 0) > 0.005; }
  function scoreText(b) {
    if (b.fill === null || b.fill === undefined) return b.state ? t("state_" + b.state) : "";
    return Math.round(b.fill * 100) + "%";
  }

  function pageFigure(p, index) {
    const caption = el("figcaption", {}, `${t("page")} ${p.ballot_page ?? "?"}` + (p.file_name ? ` — ${p.file_name} #${p.page_no}` : "") +
      (p.evidence ? " — " + t("evidence_" + p.evidence) : ""));
    if (p.crop_url) {
      if (!p.crop.region_mm) {
        const img = el("img", { src: p.crop_url, alt: `${t("page")} ${p.ballot_page ?? ""}`, width: p.crop.width, height: p.crop.height });
        const fig = el("figure", { data: { page: String(index) } }, el("div", { class: "page-wrap" }, img), caption);
        if (p.boxes.length) fig.append(el("p", { class: "muted", text: t("image_unplaced") }));
        return fig;
      }
      return el("figure", { data: { page: String(index) } }, el("div", { class: "page-scroll" },
        el("div", { class: "page-wrap" + (state.zoom ? " zoomed" : ""), title: t("zoom_help"), onclick: toggleZoom }, overlay(p))), caption);
    }
    if (!p.boxes.length && state.detail.item.kind === "page") return el("figure", {}, el("p", { class: "muted", text: t("no_page_image") }), caption);
    if (!p.boxes.length) return el("figure", {}, caption);
    return el("figure", { data: { page: String(index) } }, el("p", { class: "muted", text: t("no_image") }), schematic(p), caption);
  }

  // The scan with every box outlined; scores go in a margin left of the scan, never over the voter's ink.
  function overlay(p) {
    const [rx, ry] = p.crop.region_mm;
    const k = p.crop.px_per_mm;
    const GUTTER = 12 * k;  // 12 mm of margin for the scores
    const g = svg("svg", { class: "overlay", viewBox: `${-GUTTER} 0 ${p.crop.width + GUTTER} ${p.crop.height}`, role: "img",
      "font-size": 3.2 * k,
      "aria-label": `${t("page")} ${p.ballot_page ?? ""}` });
    g.append(svg("image", { href: p.crop_url, x: 0, y: 0, width: p.crop.width, height: p.crop.height }));
    for (const b of p.boxes) {
      const x = (b.x - rx) * k, y = (b.y - ry) * k, w = b.w * k, h = b.h * k;
      if (b.doubtful) g.append(svg("rect", { class: "ring", x: x - 4 * k, y: y - 4 * k, width: w + 8 * k, height: h + 8 * k, rx: 4 }));
      g.append(svg("rect", { class: "box " + stateClass(b), x, y, width: w, height: h, "data-number": b.number },
        svg("title", {}, `Nr. ${b.number}: ${t("state_" + (b.state || "none"))} ${scoreText(b)}`)));
      if (worthLabel(b)) g.append(svg("text", { class: "score " + stateClass(b), x: -4, y: y + h - 2, "text-anchor": "end" }, scoreText(b)));
    }
    return g;
  }

  function schematic(p) {
    const boxes = p.boxes;
    const minY = Math.min(...boxes.map((b) => b.y)) - 6, maxY = Math.max(...boxes.map((b) => b.y + b.h)) + 4;
    const minX = Math.min(...boxes.map((b) => b.x)) - 14;
    const width = 150, height = maxY - minY;
    const g = svg("svg", { class: "schematic", viewBox: `${minX} ${minY} ${width} ${height}` });
    for (const b of boxes) {
      const found = optionByNumber(b.number);
      if (b.doubtful) g.append(svg("rect", { class: "ring", x: b.x - 2, y: b.y - 2, width: b.w + 4, height: b.h + 4, rx: 1 }));
      g.append(svg("rect", { class: "fillrect", x: b.x, y: b.y, width: b.w, height: b.h, "fill-opacity": Math.max(0, Math.min(1, b.fill || 0)) }));
      g.append(svg("rect", { class: "box " + stateClass(b), x: b.x, y: b.y, width: b.w, height: b.h, "data-number": b.number }));
      if (worthLabel(b)) g.append(svg("text", { class: "score " + stateClass(b), x: b.x - 1.5, y: b.y + b.h - 1.5, "text-anchor": "end" }, scoreText(b)));
      g.append(svg("text", { class: "num", x: b.x + b.w + 2, y: b.y + b.h - 1.5 }, String(b.number)));
      g.append(svg("text", { class: "label", x: b.x + b.w + 8, y: b.y + b.h - 1.5 }, found ? txt(found[1].text) : ""));
    }
    return g;
  }

  function toggleZoom() {
    state.zoom = !state.zoom;
    for (const w of document.querySelectorAll(".page-wrap")) w.classList.toggle("zoomed", state.zoom);
  }

  function drawZooms() {
    const box = document.getElementById("zooms");
    if (!box || !state.detail) return;
    const doubtful = [];
    state.detail.pages.forEach((p, index) => {
      if (!p.crop_url || !p.crop.region_mm) return;
      for (const b of p.boxes) if (b.doubtful) doubtful.push([p, index, b]);
    });
    if (!doubtful.length) return;
    box.append(el("h3", { text: t("zoom") }));
    const images = {};
    for (const [p, index, b] of doubtful) {
      if (!images[index]) { images[index] = new Image(); images[index].src = p.crop_url; }
      const img = images[index];
      const [rx, ry] = p.crop.region_mm;
      const k = p.crop.px_per_mm;
      const sx = Math.max(0, (b.x - 6 - rx) * k), sy = Math.max(0, (b.y - 5 - ry) * k);
      const sw = Math.min(p.crop.width - sx, (b.w + 50) * k), sh = Math.min(p.crop.height - sy, (b.h + 10) * k);
      const scale = 2;
      const canvas = el("canvas", { width: Math.round(sw * scale), height: Math.round(sh * scale), data: { number: String(b.number) } });
      const paint = () => canvas.getContext("2d").drawImage(img, sx, sy, sw, sh, 0, 0, canvas.width, canvas.height);
      if (img.complete && img.naturalWidth) paint(); else img.addEventListener("load", paint, { once: true });
      box.append(el("div", {}, canvas, el("div", { class: "z", text: `Nr. ${b.number} — ${t("state_" + (b.state || "none"))} ${scoreText(b)}` })));
    }
  }

  // -- questions and marks --------------------------------------------------------------------
  function questionsCard(d, onlyBoxes) {
    const card = el("div", { class: "card", id: "questions" }, el("h3", { text: t("questions") }));
    const read = {};
    for (const p of d.pages) for (const b of p.boxes) read[b.question + "\u0000" + b.option] = b;
    const editing = state.mode === "marks";
    d.questions.forEach((q, qi) => {
      if (onlyBoxes && !q.options.some((o) => onlyBoxes.has(q.id + "\u0000" + o.id))) return;
      const chosen = state.marks[q.id] || new Set();
      const invalid = state.invalidQs && state.invalidQs.has(q.id);
      const table = el("table", { class: "q" + (invalid ? " qsel" : ""), data: { question: q.id } },
        el("caption", {}, el("span", { class: "qnum", text: `[${qi + 1}]` }), txt(q.text),
          q.max_choices ? el("span", { class: "muted", text: ` (max. ${q.max_choices})` }) : null,
          invalid ? el("strong", { text: " — " + t("a_invalid_question") }) : null));
      for (const o of q.options) {
        if (onlyBoxes && !onlyBoxes.has(q.id + "\u0000" + o.id)) continue;
        const b = read[q.id + "\u0000" + o.id];
        const box = el("input", {
          type: "checkbox", data: { q: q.id, o: o.id, number: String(o.number) }, "aria-label": `Nr. ${o.number}`,
          disabled: !editing, onchange: (e) => { toggle(q.id, o.id, e.target.checked); },
        });
        box.checked = chosen.has(o.id);
        const stateText = b ? `${t("read_as")}: ${t("state_" + (b.state || "none"))}${b.fill !== null && b.fill !== undefined ? " (" + Math.round(b.fill * 100) + "%)" : ""}` : "";
        table.append(el("tr", { class: (b && b.doubtful ? "doubt" : "") + (chosen.has(o.id) ? " chosen" : "") },
          el("td", {}, box), el("td", { class: "n", text: String(o.number) }), el("td", { class: "t", text: txt(o.text) + (o.price ? ` (${o.price.toLocaleString(boot.lang)} €)` : "") }),
          el("td", { class: "st", text: stateText })));
      }
      card.append(table);
    });
    return card;
  }

  function toggle(q, o, on) {
    state.warning = null;
    const w = document.getElementById("marks-warning");
    if (w) w.remove();
    const set = state.marks[q] || (state.marks[q] = new Set());
    if (on === undefined) on = !set.has(o);
    if (on) set.add(o); else set.delete(o);
    const box = document.querySelector(`input[data-q="${CSS.escape(q)}"][data-o="${CSS.escape(o)}"]`);
    if (box) box.checked = on;
  }

  function decisionCard(d) {
    const card = el("div", { class: "card", id: "decision" }, el("h3", { text: t("machine") }));
    card.append(el("p", {}, `${t("rs_" + d.record.status)} — ${choicesText(d.record.choices)}`));
    const e = d.effective;
    if (e) {
      let line = t("rs_" + e.state);
      if (e.invalid_ballot) line += ` (${t("invalid_ballot")})`;
      if (e.invalid_questions.length) line += ` (${t("invalid_questions")}: ${e.invalid_questions.join(", ")})`;
      card.append(el("h3", { text: t("effective") }), el("p", { id: "effective", data: { state: e.state } }, `${line} — ${choicesText(e.choices)}`));
    }
    return card;
  }

  function conflictCard(d) {
    const rec = (r, mine) => el("div", { class: "rec" + (mine ? " this" : "") },
      el("strong", { text: (mine ? t("this_record") : t("other_record")) + ` r${r.record_id}` }),
      el("div", {}, `${t("channel_" + r.channel)} · ${r.received_at || "–"}`),
      el("div", {}, `${t("status")}: ${t("rs_" + r.status)}`), el("div", {}, `${t("choices")}: ${choicesText(r.choices)}`),
      el("div", { class: "muted" }, r.reasons.map(reasonLabel).join(", ")));
    return el("div", { class: "card", id: "conflict" }, el("h3", { text: t("conflict_title") }),
      el("div", { class: "sidebyside" }, rec(d.record, true), d.related.map((r) => rec(r, false))));
  }

  function historyCard(d) {
    const card = el("div", { class: "card", id: "history" }, el("h3", { text: t("history") }));
    if (!d.history.length) { card.append(el("p", { class: "muted", text: t("no_history") })); return card; }
    const list = el("ol", { class: "history" });
    for (const h of d.history) {
      let line = `${when(h.decided_at)} ${actLabel(h.action)} ${t("by")} ${h.reviewer}`;
      if (h.body && h.body.marks) line += ` (${choicesText(h.body.marks)})`;
      if (h.body && h.body.serial) line += ` (${t("ballot")} ${h.body.serial}, ${t("page")} ${h.body.page})`;
      if (h.body && h.body.questions) line += ` (${h.body.questions.join(", ")})`;
      if (h.confirmed_by) line += ` · ${t("confirmed_by")} ${h.confirmed_by} ${when(h.confirmed_at)}`;
      else if (h.needs_confirmation && !h.undone_at) line += ` · ${t("awaiting_confirmation")}`;
      if (h.undone_by) line += ` · ${t("undone_by")} ${h.undone_by} ${when(h.undone_at)}`;
      list.append(el("li", { class: h.undone_at ? "undone" : "" }, line));
    }
    card.append(list);
    return card;
  }

  // -- unreadable pages: identify by serial -----------------------------------------------------
  function identifyCard(d) {
    const card = el("div", { class: "card identify", id: "identify" }, el("h3", { text: t("a_identify") }),
      el("p", { class: "muted", text: t("unreadable_help") }));
    const input = el("input", { type: "number", id: "serial", min: "1", inputmode: "numeric", value: state.lookup ? String(state.lookup.serial) : "",
      onkeydown: (e) => { if (e.key === "Enter") { e.preventDefault(); lookup(); } } });
    card.append(el("label", { for: "serial", text: t("serial") }), input,
      el("button", { type: "button", id: "lookup", onclick: lookup, text: t("a_lookup") }),
      el("p", { class: "muted", text: t("serial_help") }));
    const L = state.lookup;
    if (L) {
      card.append(el("p", {}, `${L.layout_id} (${L.language})` + (L.state === "void" ? ` — ${t("void")}` : "")));
      const pages = el("div", { class: "pages" }, el("strong", { text: t("which_page") + " " }));
      for (const n of L.content_pages) {
        const radio = el("input", { type: "radio", name: "ballot-page", value: String(n), onchange: () => { state.page = n; renderItem(); } });
        radio.checked = state.page === n;
        pages.append(el("label", {}, radio, ` ${t("page")} ${n}` + (L.present_pages.includes(n) ? ` (${t("present")})` : "")));
      }
      card.append(pages);
      const view = L.pages.find((p) => p.ballot_page === state.page);
      if (view && view.boxes.length) {
        const on = new Set(view.boxes.map((b) => b.question + "\u0000" + b.option));
        const fake = { ...d, pages: [] };
        card.append(questionsCard(fake, on));
      }
    }
    return card;
  }

  async function lookup() {
    const input = document.getElementById("serial");
    const serial = parseInt(input && input.value, 10);
    if (!serial) return;
    const res = await api("GET", "/api/ballots/" + serial);
    if (!res.ok) { showBanner(res.data.message || t("error")); return; }
    hideBanner();
    state.lookup = res.data;
    // The page the ballot still lacks; the reviewer sees the choice and can change it.
    state.page = res.data.suggested_page || res.data.content_pages.find((n) => !res.data.present_pages.includes(n)) || res.data.content_pages[0];
    for (const q of state.detail.questions) state.marks[q.id] = new Set();
    state.mode = "marks";
    renderItem();
  }

  // -- comments -----------------------------------------------------------------------------------
  function commentCard(d) {
    const c = d.comment;
    const card = el("div", { class: "card", id: "comment" }, el("h3", { text: t("comment_title") }));
    if (c.crop_url) card.append(el("img", { class: "comment-img", src: c.crop_url, alt: t("comment_title") }));
    card.append(el("p", {}, el("strong", { text: t("suggestion") + ": " }),
      c.suggestion ? `${c.suggestion} (${t("confidence")} ${Math.round(c.confidence)} %)` : t("no_suggestion")));
    const area = el("textarea", { id: "comment-text", "aria-label": t("transcript"),
      onkeydown: (e) => { if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); saveComment(); } } });
    area.value = c.text !== null && c.text !== undefined ? c.text : (c.suggestion || "");
    card.append(el("label", { for: "comment-text", text: t("transcript") }), area, el("p", { class: "muted", text: t("personal_hint") }));
    return card;
  }

  function commentText() {
    const area = document.getElementById("comment-text");
    return area ? area.value.trim() : "";
  }
  function saveComment() {
    const c = state.detail.comment;
    const text = commentText();
    if (c.suggestion && text === c.suggestion.trim()) return send("decide", { action: "accept" });
    return send("decide", { action: "text", text });
  }

  // -- the action bar -----------------------------------------------------------------------------
  function button(label, key, action, opts) {
    opts = opts || {};
    return el("button", { type: "button", class: opts.cls || "", data: { action }, disabled: !!opts.disabled, onclick: opts.onclick, title: key ? `${label} (${key})` : label },
      label, key ? kbd(key) : null);
  }

  function actionBar(d) {
    const it = d.item;
    const bar = el("div", { class: "actions", id: "actions" });
    bar.append(button(t("a_prev"), "K", "prev", { onclick: () => move(-1) }));
    if (it.kind === "record") {
      if (state.mode === "marks") {
        bar.append(button(t("a_save_marks"), "↵", "save-marks", { cls: "primary", onclick: submitMarks }),
          button(t("a_cancel"), "Esc", "cancel", { onclick: cancelMode }));
      } else if (state.mode === "questions") {
        bar.append(button(t("a_save_questions"), "↵", "save-questions", { cls: "primary", onclick: submitQuestions }),
          button(t("a_cancel"), "Esc", "cancel", { onclick: cancelMode }));
      } else {
        bar.append(button(t("a_accept"), "A", "accept", { cls: "primary", onclick: () => send("decide", { action: "accept" }) }),
          button(t("a_marks"), "M", "marks", { onclick: () => startMode("marks") }),
          button(t("a_invalid_question"), "Q", "invalid_question", { onclick: () => startMode("questions") }),
          button(t("a_invalid"), "I", "invalid", { cls: "danger", onclick: () => send("decide", { action: "invalid" }) }),
          button(t("a_reject"), "R", "reject", { cls: "danger", onclick: () => send("decide", { action: "reject" }) }));
      }
    } else if (it.kind === "page") {
      bar.append(button(t("a_identify"), "↵", "identify", { cls: "primary", disabled: !state.lookup || !state.page, onclick: submitIdentify }),
        button(t("a_reject"), "R", "reject", { cls: "danger", onclick: () => send("decide", { action: "reject" }) }));
    } else {
      bar.append(button(t("a_comment_accept"), "A", "accept", { cls: "primary", onclick: saveComment }),
        button(t("a_personal_data"), "P", "personal_data", { onclick: () => send("decide", { action: "personal_data", text: commentText() }) }),
        button(t("a_comment_reject"), "R", "reject", { cls: "danger", onclick: () => send("decide", { action: "reject" }) }));
    }
    bar.append(button(t("a_confirm"), "C", "confirm", { disabled: !it.can_confirm, onclick: () => send("confirm", {}) }),
      button(t("a_undo"), "U", "undo", { disabled: !it.decision, onclick: () => send("undo", {}) }),
      button(t("a_zoom"), "Z", "zoom", { onclick: toggleZoom }),
      el("span", { class: "spacer" }),
      button(t("a_next"), "J", "next", { onclick: () => move(1) }));
    return bar;
  }

  function startMode(mode) {
    if (state.detail.item.kind !== "record" && !(mode === "marks" && state.lookup)) return;
    state.mode = mode; state.buffer = "";
    if (mode === "questions") state.invalidQs = new Set();
    if (mode === "marks" && state.detail.item.kind === "record") state.marks = startingMarks(state.detail);
    renderItem();
  }
  function cancelMode() {
    state.mode = null; state.buffer = ""; state.invalidQs = null;
    if (state.detail.item.kind === "record") state.marks = startingMarks(state.detail);
    renderItem();
  }
  function marksPayload(onlyQuestions) {
    const marks = {};
    for (const [q, set] of Object.entries(state.marks)) {
      if (onlyQuestions && !onlyQuestions.has(q)) continue;
      marks[q] = Array.from(set);
    }
    return marks;
  }
  // Marks the rules would not take (too many in a question, a budget over its limit) are
  // never saved silently: the rules' answer is shown first, Enter again saves it as it is.
  async function submitMarks() {
    const body = { action: "marks", marks: marksPayload() };
    const key = JSON.stringify(body.marks);
    if (state.warning && state.warning.key === key) return send("decide", body);
    const res = await api("POST", `/api/items/${encodeURIComponent(state.detail.item.id)}/preview`, body);
    if (!res.ok) { showBanner(`${t("error")} ${res.status}: ${(res.data && res.data.message) || ""}`); return; }
    const e = res.data.effective;
    const lines = [];
    const over = e.reasons.includes("over_budget");
    for (const q of e.invalid_questions) {
      const qi = state.detail.questions.findIndex((x) => x.id === q);
      const question = state.detail.questions[qi];
      lines.push(t(over && q === "budget" ? "warn_over_budget" : "warn_overvote",
        { q: `[${qi + 1}] ${question ? txt(question.text) : q}`, max: String(question && question.max_choices || "") }));
    }
    if (e.invalid_ballot) lines.push(t("warn_invalid_ballot"));
    if (!lines.length) return send("decide", body);
    state.warning = { key, lines };
    renderItem();
  }
  function submitQuestions() {
    if (!state.invalidQs || !state.invalidQs.size) return;
    return send("decide", { action: "invalid_question", questions: Array.from(state.invalidQs) });
  }
  function submitIdentify() {
    if (!state.lookup || !state.page) return;
    const view = state.lookup.pages.find((p) => p.ballot_page === state.page);
    const onPage = new Set(view ? view.boxes.map((b) => b.question) : []);
    return send("decide", { action: "identify", serial: state.lookup.serial, page: state.page, marks: marksPayload(onPage) });
  }

  async function send(kind, body) {
    if (state.busy || !state.detail) return;
    const item = state.detail.item;
    if (shownId() !== item.id) { onAddressChange(); return; }  // the address names another item: show it first
    state.busy = true;
    try {
      const res = await api("POST", `/api/items/${encodeURIComponent(item.id)}/${kind}`, { ...body, version: item.version });
      if (res.ok) {
        hideBanner();
        const after = res.data.item;
        toast(after.status === "pending" ? t("saved_pending") : `${t("saved")}: ${actLabel(kind === "decide" ? body.action : kind)}`);
        await loadQueue();
        const next = kind === "decide" && after.status !== "open" ? nextOpenAfter(item.id) : null;
        await openItem(next || item.id);
      } else if (res.status === 409) {
        const data = res.data;
        showBanner(t("conflict", { who: data.by || "?", what: actLabel(data.event || ""), when: when(data.at) }));
        await loadQueue();
        await openItem(item.id, true);
      } else if (res.data && res.data.error === "second_reviewer") {
        showBanner(t("second_reviewer"));
      } else {
        showBanner(`${t("error")} ${res.status}: ${(res.data && res.data.message) || ""}`);
      }
    } finally {
      state.busy = false;
    }
  }

  // -- keyboard ---------------------------------------------------------------------------------------
  function onKey(e) {
    if (e.altKey || e.ctrlKey || e.metaKey) return;
    const target = e.target;
    const typing = target && (target.tagName === "INPUT" && target.type !== "checkbox" && target.type !== "radio" || target.tagName === "TEXTAREA" || target.tagName === "SELECT");
    if (e.key === "Escape") {
      document.getElementById("help").hidden = true;
      if (typing) { target.blur(); return; }
      if (state.warning) { state.warning = null; renderItem(); return; }  // back to changing the marks
      if (state.mode) { cancelMode(); return; }
      hideBanner();
      return;
    }
    if (typing || !state.detail && !["j", "k", "ArrowRight", "ArrowLeft", "?", "l"].includes(e.key)) return;
    const kind = state.detail && state.detail.item.kind;
    if (state.mode) {
      if (/^[0-9]$/.test(e.key)) { state.buffer += e.key; updateBuffer(); e.preventDefault(); return; }
      if (e.key === "Backspace") { state.buffer = state.buffer.slice(0, -1); updateBuffer(); e.preventDefault(); return; }
      if (e.key === "Enter" || e.key === " " || e.key === ",") {
        e.preventDefault();
        if (state.buffer) { applyBuffer(); return; }
        if (e.key !== "Enter") return;
        if (state.mode === "marks" && kind === "page") submitIdentify();
        else if (state.mode === "marks") submitMarks();
        else submitQuestions();
        return;
      }
    }
    const key = e.key.length === 1 ? e.key.toLowerCase() : e.key;
    const act = {
      j: () => move(1), ArrowRight: () => move(1), k: () => move(-1), ArrowLeft: () => move(-1),
      "?": () => { const h = document.getElementById("help"); h.hidden = !h.hidden; },
      z: () => toggleZoom(),
      l: () => { location.href = "/?lang=" + (boot.lang === "de" ? "en" : "de"); },
      c: () => { if (state.detail.item.can_confirm) send("confirm", {}); },
      u: () => { if (state.detail.item.decision) send("undo", {}); },
    };
    if (kind === "record" && !state.mode) Object.assign(act, {
      a: () => send("decide", { action: "accept" }), m: () => startMode("marks"), q: () => startMode("questions"),
      i: () => send("decide", { action: "invalid" }), r: () => send("decide", { action: "reject" }),
    });
    if (kind === "page") Object.assign(act, {
      s: () => { const s = document.getElementById("serial"); if (s) s.focus(); },
      r: () => send("decide", { action: "reject" }),
      m: () => startMode("marks"),
      Enter: () => submitIdentify(),
    });
    if (kind === "comment") Object.assign(act, {
      a: () => saveComment(), e: () => { const a = document.getElementById("comment-text"); if (a) a.focus(); },
      p: () => send("decide", { action: "personal_data", text: commentText() }),
      r: () => send("decide", { action: "reject" }),
    });
    const run = act[key];
    if (run) { e.preventDefault(); run(); }
  }

  function updateBuffer() {
    const b = document.getElementById("buffer");
    if (b) b.textContent = state.buffer ? "Nr. " + state.buffer + "_" : "";
  }
  function applyBuffer() {
    const n = parseInt(state.buffer, 10);
    state.buffer = "";
    if (state.mode === "marks") {
      const found = optionByNumber(n);
      if (found) toggle(found[0].id, found[1].id);
      updateBuffer();
    } else if (state.mode === "questions") {
      const q = state.detail.questions[n - 1];
      if (q) { if (state.invalidQs.has(q.id)) state.invalidQs.delete(q.id); else state.invalidQs.add(q.id); }
      renderItem();
    }
  }

  // -- start ----------------------------------------------------------------------------------------
  document.addEventListener("keydown", onKey);
  document.getElementById("show-decided").addEventListener("change", (e) => { state.showDecided = e.target.checked; loadQueue(); });
  document.getElementById("help-button").addEventListener("click", () => { const h = document.getElementById("help"); h.hidden = !h.hidden; });
  document.getElementById("banner").addEventListener("click", hideBanner);
  document.getElementById("logout").addEventListener("click", async () => {
    await api("POST", "/logout", {});
    location.href = "/";
  });
  window.addEventListener("hashchange", onAddressChange);
  window.addEventListener("popstate", onAddressChange);
  (async () => {
    await loadQueue();
    const wanted = shownId();
    if (wanted) { await openItem(wanted, false, true); return; }  // a pasted link: that item, decided or not
    const first = state.order.find((it) => it.status === "open") || state.order[0];
    if (first) { history.replaceState(null, "", "#" + encodeURIComponent(first.id)); await openItem(first.id, false, true); }
    else document.getElementById("item").append(el("p", { class: "empty-state", text: t("nothing_left") }));
  })();
})();
