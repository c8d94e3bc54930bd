// Feedback form: the language check while typing. The form works without it (findings then come with each save).
(function () {
  'use strict';
  var token = document.querySelector('meta[name="csrf-token"]');
  var DELAY = 300;

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function setup(area) {
    var key = area.getAttribute('data-criterion');
    var url = area.getAttribute('data-check');
    var mirror = document.getElementById('mirror-' + key);
    var list = document.getElementById('findings-' + key);
    var status = document.getElementById('status-' + key);
    var timer = 0, seq = 0, findings = [];
    var kept = {};

    function rememberKept() {
      list.querySelectorAll('input[name="keep"]').forEach(function (c) { kept[c.value] = c.checked; });
    }

    function drawMirror(text, marks) {
      mirror.textContent = '';
      var at = 0;
      marks.slice().sort(function (a, b) { return a.start - b.start; }).forEach(function (f) {
        if (f.start < at || f.start + f.length > text.length) return;
        if (f.start > at) mirror.appendChild(document.createTextNode(text.slice(at, f.start)));
        var m = el('mark', f.severity === 'block' ? 'block' : 'warn', text.substr(f.start, f.length));
        m.setAttribute('data-index', String(f.index));
        mirror.appendChild(m);
        at = f.start + f.length;
      });
      mirror.appendChild(document.createTextNode(text.slice(at) + (text.slice(-1) === '\n' ? ' ' : '')));
      mirror.scrollTop = area.scrollTop;
    }

    function drawList() {
      rememberKept();
      list.textContent = '';
      findings.forEach(function (f) {
        var block = f.severity === 'block';
        var li = el('li', 'finding ' + (block ? 'block' : 'warn'));
        li.tabIndex = 0;
        li.setAttribute('data-index', String(f.index));
        var sev = el('span', 'sev');
        var icon = el('span', 'icon', block ? '\u00D7' : '!');
        icon.setAttribute('aria-hidden', 'true');
        sev.appendChild(icon);
        sev.appendChild(document.createTextNode(block ? ' Blocks submitting' : ' Warning'));
        li.appendChild(sev);
        li.appendChild(document.createTextNode(' '));
        li.appendChild(el('q', 'match', f.match));
        li.appendChild(document.createTextNode(': '));
        li.appendChild(el('span', 'reason', f.reason));
        var s = el('span', 'suggestion');
        s.appendChild(el('strong', null, 'Suggestion:'));
        s.appendChild(document.createTextNode(' ' + f.suggestion));
        li.appendChild(s);
        var use = el('button', 'use', 'Use suggestion');
        use.type = 'button';
        use.addEventListener('click', function () { apply(f); });
        li.appendChild(use);
        if (!block) {
          var value = f.ruleId + '|' + key;
          var label = el('label', 'keep');
          var box = el('input');
          box.type = 'checkbox'; box.name = 'keep'; box.value = value; box.checked = !!kept[value];
          label.appendChild(box);
          label.appendChild(document.createTextNode(' Keep this wording: it is job-related'));
          li.appendChild(label);
        }
        list.appendChild(li);
      });
    }

    function announce() {
      var blocking = findings.filter(function (f) { return f.severity === 'block'; }).length;
      var n = findings.length;
      status.textContent = n === 0 ? 'No risky wording found.'
        : n + (n === 1 ? ' risky passage' : ' risky passages') + ' found (' + blocking + ' blocking), listed below.';
    }

    function apply(f) {
      var text = area.value;
      if (text.substr(f.start, f.length) !== f.match) return;
      area.value = text.slice(0, f.start) + f.suggestion + text.slice(f.start + f.length);
      area.focus();
      area.setSelectionRange(f.start, f.start + f.suggestion.length);
      area.dispatchEvent(new Event('input', { bubbles: true }));
    }

    function check() {
      var text = area.value, mine = ++seq;
      if (text.trim() === '') {
        findings = []; drawMirror(text, []); drawList(); status.textContent = ''; return;
      }
      fetch(url, {
        method: 'POST', credentials: 'same-origin',
        headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': token ? token.content : '' },
        body: JSON.stringify({ text: text })
      }).then(function (r) {
        if (!r.ok) throw new Error('check failed: ' + r.status);
        return r.json();
      }).then(function (body) {
        if (mine !== seq || area.value !== text) return; // a newer check is on its way
        findings = body.findings.map(function (f, i) {
          return { index: i, ruleId: f.ruleId, severity: f.severity, start: f.start, length: f.length, match: f.match, reason: f.reason, suggestion: f.suggestion };
        });
        drawMirror(text, findings); drawList(); announce();
      }).catch(function () {
        if (mine === seq) status.textContent = 'The live check is not available right now; the check still runs when you save.';
      });
    }

    // Links between a finding and its span: focus or hover the item, the span lights up.
    function light(e, on) {
      var li = e.target.closest && e.target.closest('.finding');
      if (!li) return;
      var mark = mirror.querySelector('mark[data-index="' + li.getAttribute('data-index') + '"]');
      li.classList.toggle('active', on);
      if (mark) mark.classList.toggle('active', on);
    }
    list.addEventListener('focusin', function (e) { light(e, true); });
    list.addEventListener('focusout', function (e) { light(e, false); });
    list.addEventListener('mouseover', function (e) { light(e, true); });
    list.addEventListener('mouseout', function (e) { light(e, false); });

    // Server-rendered findings (after a save) become live ones: their buttons work the same way.
    list.querySelectorAll('.finding').forEach(function (li, i) {
      var use = li.querySelector('.use');
      if (!use) return;
      var f = {
        index: i, start: +li.getAttribute('data-start'), length: +li.getAttribute('data-length'),
        match: use.getAttribute('data-match'), suggestion: use.getAttribute('data-suggestion')
      };
      use.hidden = false;
      use.addEventListener('click', function () { apply(f); });
    });

    area.addEventListener('input', function () {
      drawMirror(area.value, []); // old spans no longer fit the text
      clearTimeout(timer);
      timer = setTimeout(check, DELAY);
    });
    area.addEventListener('scroll', function () { mirror.scrollTop = area.scrollTop; });
  }

  document.querySelectorAll('textarea[data-check]').forEach(setup);
  // A refused post comes back with its error summary first: focus it so it is read before anything else.
  var summary = document.querySelector('.error-summary');
  if (summary) summary.focus();
})();
