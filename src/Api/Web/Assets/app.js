// FeedbackHub web app: progressive enhancement only. Every page reads and works without it.
(function () {
  'use strict';
  // Forms that change something important ask once more (data-confirm="question").
  document.addEventListener('submit', function (e) {
    var form = e.target;
    var question = form.getAttribute('data-confirm');
    if (question && !window.confirm(question)) e.preventDefault();
  });
  // Relative times ("3 days ago") beside absolute ones; the absolute time stays in the datetime attribute and title.
  var units = [['year', 31536000], ['month', 2592000], ['day', 86400], ['hour', 3600], ['minute', 60]];
  var rtf = window.Intl && Intl.RelativeTimeFormat ? new Intl.RelativeTimeFormat('en', { numeric: 'auto' }) : null;
  document.querySelectorAll('time[data-relative]').forEach(function (t) {
    if (!rtf) return;
    var seconds = (new Date(t.getAttribute('datetime')).getTime() - Date.now()) / 1000;
    for (var i = 0; i < units.length; i++) {
      if (Math.abs(seconds) >= units[i][1] || i === units.length - 1) {
        t.title = t.textContent;
        t.textContent = rtf.format(Math.round(seconds / units[i][1]), units[i][0]);
        return;
      }
    }
  });
})();
