/* The transcript player of indexer (see indexer/display/player_data.py for the data it receives).
 *
 * Every text of the transcript and of the metadata is set with textContent:
 * nothing from the data is ever parsed as HTML. Words are rendered in chunks
 * (one per task) so a two-hour episode does not freeze the page, and one
 * delegated listener per player handles every word.
 */
(function (global) {
  "use strict";

  var CHUNK_WORDS = 2500;   // words rendered per task
  var MESSAGES = {};        // the display catalog's words for the player (indexer/display/i18n.py), from the data

  // The text of message ``key``, its {placeholders} filled from ``values``.
  function t(key, values) {
    return String(MESSAGES[key] === undefined ? key : MESSAGES[key]).replace(/{(\w+)}/g, function (_, name) {
      return values && values[name] !== undefined ? values[name] : "{" + name + "}";
    });
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  // As indexer.transcript.hms: rounded down, or up for the end of a span.
  function hms(seconds, roundUp) {
    var total = Math.max(0, roundUp ? Math.ceil(seconds - 1e-6) : Math.floor(seconds + 1e-6));
    return pad(Math.floor(total / 3600)) + ":" + pad(Math.floor(total % 3600 / 60)) + ":" + pad(total % 60);
  }

  // As indexer.transcript.format_timestamp: hh:mm:ss.mmm
  function exact(seconds) {
    var millis = Math.max(0, Math.round(seconds * 1000));
    var h = Math.floor(millis / 3600000); millis -= h * 3600000;
    var m = Math.floor(millis / 60000); millis -= m * 60000;
    var s = Math.floor(millis / 1000); millis -= s * 1000;
    return pad(h) + ":" + pad(m) + ":" + pad(s) + "." + ("00" + millis).slice(-3);
  }

  // Seconds as Python writes them in the quote line: at most 3 decimals, no trailing zeros.
  function seconds(x) {
    var text = (Math.round(x * 1000) / 1000).toFixed(3).replace(/0+$/, "").replace(/\.$/, ".0");
    return text;
  }

  // As indexer.quotes.join_words: spaced like the transcript.
  function joinWords(words) {
    var spaced = words.some(function (w) { return w.space; });
    var out = "";
    words.forEach(function (w, i) {
      if (!w.text) return;
      out += (i === 0 || (spaced && !w.space) ? "" : " ") + w.text;
    });
    return out.trim();
  }

  // As indexer.quotes.citation.fill_citation / Quote.cite: parts whose fields are all empty are dropped.
  function cite(format, values) {
    return format.split(", ").map(function (part) {
      var names = [];
      part.replace(/{(\w+)[^}]*}/g, function (_, name) { names.push(name); return ""; });
      if (names.length && !names.some(function (n) { return values[n]; })) return "";
      return part.replace(/{(\w+)[^}]*}/g, function (_, name) { return values[name]; });
    }).filter(function (p) { return p; }).join(", ");
  }

  function Player(root, data) {
    this.root = root;
    this.data = data;
    if (data.messages) MESSAGES = data.messages;
    this.words = data.words;
    this.starts = data.words.map(function (w) { return w.start; });
    this.spans = new Array(data.words.length);
    this.current = -1;
    this.selection = null;
    this.audio = root.querySelector("audio.ip-audio");
    this.offset = data.audio.offset || 0;
    this.audioEnd = data.audio.end;
    this.build();
  }

  Player.prototype.build = function () {
    var self = this, data = this.data, root = this.root;
    var fallback = root.querySelector(".ip-static");
    if (fallback) fallback.remove();
    var bar = el("div", "ip-bar");
    if (this.audio) bar.appendChild(this.audio); else bar.appendChild(el("span", "ip-noaudio", "pas d'audio"));
    var follow = el("label", "ip-follow");
    this.follow = el("input");
    this.follow.type = "checkbox";
    this.follow.checked = true;
    follow.appendChild(this.follow);
    follow.appendChild(document.createTextNode(" suivre la lecture"));
    bar.appendChild(follow);
    this.status = el("span", "ip-status");
    this.status.setAttribute("aria-live", "polite");
    bar.appendChild(this.status);
    root.appendChild(bar);
    if (data.audio.note) root.appendChild(el("p", "ip-note", data.audio.note));
    var help = el("p", "ip-help", t("help"));
    root.appendChild(help);
    this.transcript = el("div", "ip-transcript");
    this.transcript.setAttribute("role", "document");
    this.transcript.setAttribute("aria-label", t("transcript", {title: data.title}));
    root.appendChild(this.transcript);
    this.panel = this.buildPanel();
    root.appendChild(this.panel);

    this.transcript.addEventListener("click", function (event) { self.onClick(event); });
    root.addEventListener("keydown", function (event) { self.onKey(event); });
    this.onSelectionChange = function () {
      if (!self.root.isConnected) { document.removeEventListener("selectionchange", self.onSelectionChange); return; }
      clearTimeout(self.selectionTimer);
      self.selectionTimer = setTimeout(function () { self.readSelection(); }, 60);
    };
    document.addEventListener("selectionchange", this.onSelectionChange);
    if (this.audio) {
      this.audio.addEventListener("timeupdate", function () { self.sync(); });
      this.audio.addEventListener("seeked", function () { self.sync(); });
      this.audio.addEventListener("play", function () { self.tick(); });
      this.audio.addEventListener("error", function () {
        var src = self.audio.currentSrc || self.audio.getAttribute("src") || "";
        self.status.textContent = t("audio_missing", {src: src.startsWith("data:") ? t("embedded_clip") : src});
        root.classList.add("ip-audio-error");
      });
      if (data.start !== null && data.start !== undefined) {
        var seekStart = function () { self.seek(data.start); };
        if (this.audio.readyState >= 1) seekStart(); else this.audio.addEventListener("loadedmetadata", seekStart, { once: true });
      }
    }
    global.addEventListener("indexer-player-bridge", function (event) {
      if (event.detail === data.id) self.updateAddButton();
    });
    this.render();
  };

  Player.prototype.buildPanel = function () {
    var self = this;
    var panel = el("div", "ip-quote");
    panel.hidden = true;
    panel.setAttribute("aria-live", "polite");
    panel.setAttribute("aria-label", t("selected_quote"));
    this.quoteText = el("blockquote", "ip-words");
    this.quoteCitation = el("p", "ip-citation");
    this.quotePython = el("code", "ip-python");
    panel.appendChild(this.quoteText);
    panel.appendChild(this.quoteCitation);
    panel.appendChild(this.quotePython);
    var buttons = el("div", "ip-buttons");
    var copyCitation = el("button", "ip-copy-citation", t("copy_citation"));
    var copyPython = el("button", "ip-copy-python", t("copy_python"));
    this.addButton = el("button", "ip-add", t("add"));
    this.addButton.hidden = true;
    this.feedback = el("span", "ip-feedback");
    [copyCitation, copyPython, this.addButton].forEach(function (b) { b.type = "button"; buttons.appendChild(b); });
    buttons.appendChild(this.feedback);
    panel.appendChild(buttons);
    copyCitation.addEventListener("click", function () { self.copy(self.quoteCitation.textContent, t("citation_copied")); });
    copyPython.addEventListener("click", function () { self.copy(self.quotePython.textContent, t("line_copied")); });
    this.addButton.addEventListener("click", function () { self.addToBasket(); });
    return panel;
  };

  // --- rendering, in chunks -------------------------------------------------------------------

  Player.prototype.render = function () {
    var self = this, data = this.data, started = performance.now();
    var jobs = [];  // one per paragraph
    data.sections.forEach(function (section, n) {
      var sectionEl = el("section", "chapter");
      if (section.title) {
        sectionEl.id = (data.id === "page" ? "" : data.id + "-") + "chapter-" + n;  // the page's table of contents
        var h = el("h2", null, section.title + " ");
        h.appendChild(el("small", "timecode", "[" + hms(section.start) + "]"));
        sectionEl.appendChild(h);
      }
      jobs.push({ section: sectionEl });
      section.paragraphs.forEach(function (p) { jobs.push({ section: sectionEl, paragraph: p }); });
    });
    var k = 0, longest = 0, dataset = this.root.dataset;
    function step() {
      var t0 = performance.now(), budget = CHUNK_WORDS;
      while (k < jobs.length && budget > 0) {
        var job = jobs[k++];
        if (!job.paragraph) { self.transcript.appendChild(job.section); continue; }
        budget -= self.renderParagraph(job.section, job.paragraph);
      }
      longest = Math.max(longest, performance.now() - t0);
      if (!dataset.firstWordsMs) dataset.firstWordsMs = String(Math.round(performance.now() - started));
      if (k < jobs.length) { setTimeout(step, 0); return; }
      dataset.longestChunkMs = String(Math.round(longest));
      dataset.renderMs = String(Math.round(performance.now() - started));
      dataset.renderedAtMs = String(Math.round(performance.now()));  // since the page began to load
      dataset.rendered = "true";
      self.afterRender();
    }
    step();
  };

  Player.prototype.renderParagraph = function (sectionEl, p) {
    var data = this.data, words = this.words, spans = this.spans;
    var para = el("p", "turn");
    para.dataset.start = p.start.toFixed(2);
    var stamp = el("a", "timecode", "[" + hms(p.start) + "]");
    stamp.href = "#";
    stamp.dataset.t = String(p.start);
    stamp.setAttribute("aria-label", t("listen_from", {time: hms(p.start)}));
    para.appendChild(stamp);
    para.appendChild(document.createTextNode(" "));
    if (p.speaker !== null && p.speaker !== undefined) {
      para.appendChild(el("span", "speaker", data.speakers[p.speaker] + " :"));
      para.appendChild(document.createTextNode(" "));
    }
    var spaced = this.spaced === undefined ? (this.spaced = words.some(function (w) { return w.space; })) : this.spaced;
    var count = 0, firstInParagraph = true;
    var noAudioBefore = this.offset, noAudioAfter = this.audioEnd;
    var rangeStart = data.start === null || data.start === undefined ? null : data.start;
    var rangeEnd = rangeStart === null || data.end === null || data.end === undefined ? null : data.end;
    p.segments.forEach(function (s) {
      var seg = data.segments[s];
      var segEl = el("span", "segment" + (seg.suspect ? " suspect" : "") + (seg.corrected ? " corrected" : ""));
      segEl.dataset.segment = String(seg.id);
      var hints = [];
      if (seg.flags.length) hints.push(seg.flags.map(function (f) { return (MESSAGES.flags || {})[f] || f; }).join(", "));
      if (seg.estimated) hints.push(t("estimated"));
      if (hints.length) segEl.title = hints.join(" · ");
      for (var i = seg.first; i < seg.first + seg.count; i++) {
        var w = words[i];
        if (!firstInParagraph && (w.space || !spaced)) segEl.appendChild(document.createTextNode(" "));
        firstInParagraph = false;
        var cls = "w";
        if (w.low) cls += " low";
        if (w.corrected) cls += " corr";
        if (w.marked) cls += " hit";
        if (rangeEnd !== null && w.end > rangeStart && w.start < rangeEnd) cls += " range";
        if (w.end < noAudioBefore || (noAudioAfter !== null && noAudioAfter !== undefined && w.start > noAudioAfter)) cls += " noaudio";
        var span = el("span", cls, w.text);
        span.dataset.i = String(i);
        if (w.low) span.title = t("unsure_word", {percent: Math.round(w.p * 100)});
        if (w.corrected) span.title = t("corrected");
        spans[i] = span;
        segEl.appendChild(span);
        count++;
      }
      para.appendChild(segEl);
      para.appendChild(document.createTextNode(" "));
    });
    sectionEl.appendChild(para);
    return count + 1;
  };

  Player.prototype.afterRender = function () {
    var data = this.data;
    if (data.select) {
      this.showQuote(data.select[0], data.select[1]);
      for (var i = data.select[0]; i <= data.select[1]; i++) this.spans[i].classList.add("sel");
    }
    var at = data.start !== null && data.start !== undefined ? this.wordAt(data.start) : -1;
    if (at >= 0) { this.setCurrent(at); this.reveal(at, true); }
  };

  // --- time ------------------------------------------------------------------------------------

  Player.prototype.time = function () { return this.audio ? this.audio.currentTime + this.offset : 0; };

  // The last word started at episode time t (binary search), or -1.
  Player.prototype.wordAt = function (t) {
    var lo = 0, hi = this.starts.length - 1, found = -1;
    while (lo <= hi) {
      var mid = (lo + hi) >> 1;
      if (this.starts[mid] <= t + 1e-3) { found = mid; lo = mid + 1; } else hi = mid - 1;
    }
    return found;
  };

  Player.prototype.sync = function () {
    if (!this.audio) return;
    var i = this.wordAt(this.time());
    if (i !== this.current) {
      this.setCurrent(i);
      if (this.follow.checked && !this.audio.paused) this.reveal(i, false);
    }
    this.status.textContent = hms(this.time());
  };

  // While playing, follow at the display's pace (timeupdate alone comes every ~250 ms).
  Player.prototype.tick = function () {
    var self = this;
    if (this.ticking) return;
    this.ticking = true;
    function frame() {
      self.sync();
      if (self.audio && !self.audio.paused && self.root.isConnected) requestAnimationFrame(frame);
      else self.ticking = false;
    }
    requestAnimationFrame(frame);
  };

  Player.prototype.setCurrent = function (i) {
    var old = this.spans[this.current];
    if (old) { old.classList.remove("now"); old.removeAttribute("aria-current"); }
    this.current = i;
    var span = this.spans[i];
    if (span) { span.classList.add("now"); span.setAttribute("aria-current", "true"); }
    this.root.dataset.current = String(i);
  };

  // Scroll the transcript box (not the page) to show word i.
  Player.prototype.reveal = function (i, always) {
    var span = this.spans[i];
    if (!span) return;
    var box = this.transcript, top = span.getBoundingClientRect().top - box.getBoundingClientRect().top;
    if (always || top < box.clientHeight * 0.1 || top > box.clientHeight * 0.8) {
      box.scrollTop += top - box.clientHeight / 3;
    }
  };

  Player.prototype.seek = function (t) {
    if (this.audio) this.audio.currentTime = Math.max(0, t - this.offset);
    this.setCurrent(this.wordAt(t));
    this.status.textContent = hms(t);
  };

  Player.prototype.seekWord = function (i) {
    i = Math.max(0, Math.min(this.words.length - 1, i));
    this.seek(this.words[i].start);
    this.reveal(i, false);
  };

  // --- events ------------------------------------------------------------------------------------

  Player.prototype.onClick = function (event) {
    var stamp = event.target.closest("a.timecode");
    if (stamp) { event.preventDefault(); this.seek(parseFloat(stamp.dataset.t)); return; }
    var word = event.target.closest("[data-i]");
    var selection = global.getSelection && global.getSelection();
    if (!word || (selection && !selection.isCollapsed)) return;  // the end of a selection, not a click
    this.seekWord(parseInt(word.dataset.i, 10));
  };

  Player.prototype.onKey = function (event) {
    var target = event.target;
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
    if (target.closest && target.closest("button, input, textarea, audio")) return;  // their own keys
    var i = this.current < 0 ? 0 : this.current;
    if (event.key === " " || event.key === "Spacebar") {
      if (this.audio) { if (this.audio.paused) this.audio.play(); else this.audio.pause(); }
    } else if (event.key === "ArrowRight" || event.key === "ArrowLeft") {
      var forward = event.key === "ArrowRight";
      if (event.shiftKey) {  // by segment: the next one, or back to this one's start (then the one before)
        var seg = this.data.segments[this.words[i].segment];
        var to = seg.first + seg.count;
        if (!forward) {
          to = seg.first;
          if (this.time() < this.words[seg.first].start + 0.5 && seg.first > 0) {
            to = this.data.segments[this.words[seg.first - 1].segment].first;
          }
        }
        this.seekWord(to);
      } else {
        this.seekWord(forward ? i + 1 : i - 1);
      }
    } else {
      return;
    }
    event.preventDefault();
    event.stopPropagation();
  };

  // The word span at or after (start edge) / before (end edge) a selection boundary.
  Player.prototype.edgeWord = function (node, offset, atStart) {
    if (node.nodeType === 1 && node.childNodes.length) {
      node = node.childNodes[Math.min(offset, node.childNodes.length - 1)] || node;
    }
    var elem = node.nodeType === 1 ? node : node.parentElement;
    var word = elem && elem.closest("[data-i]");
    if (word && this.transcript.contains(word)) return parseInt(word.dataset.i, 10);
    var walker = document.createTreeWalker(this.transcript, NodeFilter.SHOW_ELEMENT);
    walker.currentNode = node.nodeType === 1 ? node : node.parentNode;
    var next;
    while ((next = atStart ? walker.nextNode() : walker.previousNode())) {
      if (next.dataset && next.dataset.i !== undefined) return parseInt(next.dataset.i, 10);
    }
    return -1;
  };

  Player.prototype.readSelection = function () {
    var selection = global.getSelection();
    if (!selection || selection.isCollapsed || !selection.rangeCount) return;
    var range = selection.getRangeAt(0);
    if (!this.transcript.contains(range.commonAncestorContainer)) return;
    var first = this.edgeWord(range.startContainer, range.startOffset, true);
    var last = this.edgeWord(range.endContainer, range.endOffset, false);
    // A selection ending at offset 0 of a word does not include it.
    if (range.endContainer.nodeType === 3 && range.endOffset === 0 && last > first) {
      var endWord = range.endContainer.parentElement.closest("[data-i]");
      if (endWord && parseInt(endWord.dataset.i, 10) === last) last -= 1;
    }
    if (first < 0 || last < first) return;
    this.showQuote(first, last);
  };

  // --- the quote -------------------------------------------------------------------------------

  Player.prototype.quoteValues = function (first, last) {
    var data = this.data, words = this.words.slice(first, last + 1);
    // Speaker: the one speaking longest in the quote (Quote.span), the first on a tie.
    var weights = new Map();
    words.forEach(function (w) {
      if (w.speaker === null || w.speaker === undefined) return;
      var name = data.speakers[w.speaker];
      weights.set(name, (weights.get(name) || 0) + Math.max(w.end - w.start, 0.01));
    });
    var speaker = "", best = -1;
    weights.forEach(function (weight, name) { if (weight > best) { best = weight; speaker = name; } });
    var start = words[0].start, end = Math.max.apply(null, words.map(function (w) { return w.end; }));
    var chapter = "";
    data.chapters.forEach(function (c) { if (c.start <= start + 1e-6) chapter = c.title; });
    return {
      speaker: speaker, title: data.title, date: data.date, start: hms(start), end: hms(end, true),
      start_exact: exact(start), end_exact: exact(end), episode: data.episode, chapter: chapter,
      source_url: data.source_url, text: joinWords(words), _start: start, _end: end
    };
  };

  Player.prototype.showQuote = function (first, last) {
    var values = this.quoteValues(first, last);
    this.selection = { first: first, last: last, start: values._start, end: values._end };
    this.quoteText.textContent = values.text;
    this.quoteCitation.textContent = cite(this.data.citation_format, values);
    this.quotePython.textContent = "archive.quote(" + JSON.stringify(this.data.episode) + ", " +
      seconds(values._start) + ", " + seconds(values._end) + ")";
    this.feedback.textContent = "";
    this.panel.hidden = false;
    this.updateAddButton();
  };

  Player.prototype.copy = function (text, done) {
    var self = this;
    function fallback() {
      var area = el("textarea");
      area.value = text;
      area.setAttribute("readonly", "");
      area.style.position = "fixed";
      area.style.opacity = "0";
      self.root.appendChild(area);
      area.select();
      var ok = false;
      try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
      self.root.removeChild(area);
      self.feedback.textContent = ok ? done : t("copy_failed");
    }
    if (navigator.clipboard && global.isSecureContext) {
      navigator.clipboard.writeText(text).then(function () { self.feedback.textContent = done; }, fallback);
    } else {
      fallback();
    }
  };

  Player.prototype.bridge = function () {
    var bridges = global.indexerPlayerBridges;
    return bridges && bridges[this.data.id];
  };

  Player.prototype.updateAddButton = function () {
    this.addButton.hidden = !this.bridge();
  };

  Player.prototype.addToBasket = function () {
    var self = this, bridge = this.bridge();
    if (!bridge || !this.selection) return;
    this.feedback.textContent = "…";
    bridge({ episode: this.data.episode, start: this.selection.start, end: this.selection.end }).then(function (reply) {
      self.feedback.textContent = reply.ok ? t("added", {count: reply.count}) : t("refused", {error: reply.error});
    });
  };

  // The words travel as columns (indexer.display.player_data.wire_data); the player works on objects.
  function fromColumns(c) {
    var words = new Array(c.text.length);
    for (var i = 0; i < words.length; i++) {
      words[i] = { text: c.text[i], space: !!c.space[i], start: c.start[i], end: c.end[i], p: c.p[i],
                   low: !!c.low[i], corrected: !!c.corrected[i], marked: !!c.marked[i],
                   segment: c.segment[i], speaker: c.speaker[i] };
    }
    return words;
  }

  function mount(root) {
    if (!root || root.indexerPlayer) return root && root.indexerPlayer;
    var script = root.querySelector("script.ip-data");
    var data = JSON.parse(script.textContent);
    if (data.word_columns) data.words = fromColumns(data.word_columns);
    root.indexerPlayer = new Player(root, data);
    return root.indexerPlayer;
  }

  global.IndexerPlayer = { mount: mount, hms: hms, cite: cite, joinWords: joinWords };
})(window);
