// Liftoff's dashboard works without this file: it adds copy buttons and
// live updates, through Server-Sent Events (never by polling).
(function () {
  'use strict';

  // Copy buttons: <button data-copy="ID"> copies the value of #ID.
  document.querySelectorAll('[data-copy]').forEach(function (button) {
    var label = button.textContent;
    button.hidden = false;
    button.addEventListener('click', function () {
      var field = document.getElementById(button.getAttribute('data-copy'));
      var said = function (text) {
        button.textContent = text;
        window.setTimeout(function () { button.textContent = label; }, 2000);
      };
      var selectIt = function () { field.focus(); field.select(); };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(field.value).then(function () { said('Copied'); },
          function () { selectIt(); said('Press Ctrl+C'); });
      } else {
        selectIt();
        said(document.execCommand && document.execCommand('copy') ? 'Copied' : 'Press Ctrl+C');
      }
    });
  });

  // A hook URL shown once: selected, ready to copy.
  var shown = document.getElementById('hook-url');
  if (shown && document.activeElement === shown) {
    shown.select();
  }

  if (!window.EventSource) {
    return;
  }

  // A deployment's page: its status part and its output, live.
  var status = document.querySelector('[data-deployment]');
  if (status && !status.hasAttribute('data-ended')) {
    var logs = document.getElementById('logs');
    var id = status.getAttribute('data-deployment');
    var stream = new EventSource('/deployments/' + encodeURIComponent(id) + '/events?after=' +
      encodeURIComponent(status.getAttribute('data-after') || '0'));
    stream.addEventListener('status', function (e) {
      status.innerHTML = e.data;
    });
    stream.onmessage = function (e) {
      var atEnd = logs.scrollTop + logs.clientHeight >= logs.scrollHeight - 4;
      var line = document.createElement('span');
      line.className = 'line';
      line.textContent = e.data;
      logs.appendChild(line);
      logs.appendChild(document.createTextNode('\n'));
      if (atEnd) {
        logs.scrollTop = logs.scrollHeight;
      }
    };
    stream.addEventListener('end', function (e) {
      stream.close();
      status.setAttribute('data-ended', e.data);
    });
  }

  // A service's page: its log, live. The page keeps the last lines only.
  var serviceLogs = document.querySelector('[data-service-logs]');
  if (serviceLogs) {
    var said = document.getElementById('service-logs-status');
    var keep = 2000;
    var follow = new EventSource(serviceLogs.getAttribute('data-service-logs'));
    follow.onopen = function () {
      said.textContent = 'Following the service\'s output.';
    };
    follow.onmessage = function (e) {
      var atEnd = serviceLogs.scrollTop + serviceLogs.clientHeight >= serviceLogs.scrollHeight - 4;
      var line = document.createElement('span');
      line.className = 'line';
      line.textContent = e.data;
      serviceLogs.appendChild(line);
      serviceLogs.appendChild(document.createTextNode('\n'));
      while (serviceLogs.childNodes.length > 2 * keep) {
        serviceLogs.removeChild(serviceLogs.firstChild);
        serviceLogs.removeChild(serviceLogs.firstChild);
      }
      if (atEnd) {
        serviceLogs.scrollTop = serviceLogs.scrollHeight;
      }
    };
    follow.addEventListener('gone', function (e) {
      follow.close();
      said.textContent = e.data;
    });
  }

  // The newest page of the deployments list, live.
  var rows = document.querySelector('[data-live-rows]');
  if (rows) {
    var list = new EventSource(rows.getAttribute('data-live-rows'));
    list.addEventListener('rows', function (e) {
      rows.innerHTML = e.data;
    });
  }
})();
